/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one private header: the objects the library is made of, and what
 * each file of lib/ offers the others. The files call only downwards in
 * this order, so there is no cycle between them:
 *
 *   lock.c       CoQueue, CoMutex and CoRwlock
 *   coroutine.c  the public coroutine calls, leaders, the state machine
 *   worker.c     coroutine threads, the pool, the tunables' public calls
 *   handoff.c    batons: passing control from one thread to another
 *   settings.c   tunables: defaults, limits, environment variables
 *   process.c    fork() and exit, for the files above that watch them
 *   analysis.c   what valgrind and ThreadSanitizer must (not) see
 *   error.c      messages and aborts
 *
 * (worker.c runs coroutine bodies through a function pointer that
 * coroutine.c hands it, and process.c calls the hooks the files above hand
 * it, not by calling upwards.)
 */
#ifndef COTHREAD_COROUTINE_INT_H
#define COTHREAD_COROUTINE_INT_H

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "qemu-coroutine.h"

/* Each file that keeps state across fork() sets itself up at load time. */
#ifndef __GNUC__
#error "cothread needs __attribute__((constructor)), as in GCC and clang"
#endif

/* error.c */

/* Misuse by the caller: one line naming the call and the problem, abort. */
#define CO_MISUSE_IF(cond, func, problem) \
    do { \
        if (cond) { \
            co_die(func, problem); \
        } \
    } while (0)

/*
 * A call that may fail in correct use (no memory, no threads, a full table)
 * failed where the contract is to stop: one line naming the public call,
 * what could not be done, the call that failed and its error (0: the call
 * gives none, as atexit()), then abort.
 */
_Noreturn void co_die_failed(const char *func, const char *what, const char *call,
                             int err);

/* A failed library call, for the caller to report: its error number and the
 * name of the call, which a message then shows. */
struct co_failure {
    int err;
    const char *call;
};

/* Every pthread call whose failure would be a library bug goes here: only
 * those whose every documented error is impossible with the arguments
 * cothread passes (EINVAL for a bad attribute, state or mask, say). */
#define CO_PTHREAD(call) co_pthread_check((call), #call)

_Noreturn void co_die(const char *func, const char *problem);
void co_pthread_check(int err, const char *what);

/*
 * analysis.c. The happens-before rule: cothread orders two threads only
 * where stack switching would (a switch orders its two sides, a resume
 * from another thread follows the coroutine's last yield). Its own
 * bookkeeping must stay out of the tools' sight, or real races between
 * application threads disappear from their reports.
 */
bool co_under_valgrind(void);
bool co_under_helgrind_or_drd(void);
bool co_under_tsan(void);
/* Whether coroutine threads should be fresh and never reused: under a
 * tool, one thread running two threads' coroutines orders them. */
bool co_under_analysis(void);

/* Tells helgrind and DRD not to check accesses to [addr, addr + len):
 * memory the library synchronises in ways they do not model (C11 atomics,
 * libc's internals of a mutex it tracks). */
void co_unchecked(const void *addr, size_t len);
/* A happens-before edge the tools cannot infer from C11 atomics: every
 * co_happens_after(obj) follows the co_happens_before(obj) calls so far. */
void co_happens_before(const void *obj);
void co_happens_after(const void *obj);
void co_happens_forget(const void *obj);
/* A coroutine lock seen by the tools as a lock held by the thread. */
void co_lock_acquired(void *lock, bool write);
/* A lock the coroutine holds all along, shown to the tools as taken again
 * (a downgrade's read side, say): it cannot wait, so no lock order is
 * recorded where the tool can be told so. */
void co_lock_kept(void *lock, bool write);
void co_lock_released(void *lock, bool write);

/* Accesses between the two that ThreadSanitizer neither checks nor
 * records (synchronisation still counts), for the library's own fields
 * that a thread touches while the tools see it ordered after nothing of
 * the thread that set them: a woken coroutine's, read by its waker's
 * chain before the claim that orders it, and a coroutine object's
 * allocation, which must be nobody's write. helgrind and DRD are told
 * with co_unchecked() instead. */
void co_unseen_begin(void);
void co_unseen_end(void);

/*
 * A lock for the library's bookkeeping that orders nothing in the tools'
 * eyes: a spinlock on a C11 atomic (helgrind and DRD do not model atomics),
 * taken with ThreadSanitizer's synchronisation and accesses ignored. It is
 * only ever held for a few list operations: never across a call that
 * blocks, allocates or calls back into the application. The word is
 * declared in the public header (the coroutine locks embed one); a
 * zero-filled one is unlocked.
 */
void co_quiet_lock(struct cothread_lock_word *lock);
void co_quiet_unlock(struct cothread_lock_word *lock);

/*
 * process.c. A file that keeps state across fork() or needs to act at exit
 * hands its hooks over from a constructor. fork_prepare hooks run from the
 * lowest stage up, the others from the highest down.
 */
enum co_stage {
    CO_STAGE_SETTINGS,
    CO_STAGE_WORKERS,
    CO_STAGE_CORE,
    CO_STAGES,
};

struct co_process_hooks {
    void (*fork_prepare)(void);
    void (*fork_parent)(void);
    void (*fork_child)(void);
    void (*exit)(void);
};

void co_process_watch(enum co_stage stage, const struct co_process_hooks *hooks);

/* settings.c: tunables, read from the environment on first use. */
#define CO_STACK_SIZE_DEFAULT ((size_t)1 << 20)
#define CO_STACK_SIZE_MAX ((size_t)1 << 30)
#define CO_POOL_SIZE_MAX 65536u
#define CO_POOL_AUTO COTHREAD_POOL_AUTO
/* The automatic pool (worker.c): it always keeps up to CO_POOL_BASE idle
 * threads; above that, a thread idle for CO_POOL_IDLE_SECONDS, plus up to
 * CO_POOL_IDLE_SPREAD_MS so that threads idle since the same moment do
 * not all wake together, leaves, about one every CO_POOL_LEAVE_GAP_MS.
 * It keeps no more than CO_POOL_AUTO_MAX_BYTES of stacks nor more than
 * CO_POOL_AUTO_MAX_THREADS threads (but always CO_POOL_BASE). */
#define CO_POOL_BASE 64u
#define CO_POOL_IDLE_SECONDS 2
#define CO_POOL_IDLE_SPREAD_MS 250
#define CO_POOL_LEAVE_GAP_MS 4
#define CO_POOL_AUTO_MAX_THREADS 4096u
#define CO_POOL_AUTO_MAX_BYTES \
    (sizeof(void *) >= 8 ? (size_t)1 << 31 : (size_t)128 << 20)
size_t co_stack_size_min(void);
size_t co_round_to_page(size_t bytes);
struct co_settings {
    size_t stack_size;
    unsigned pool_size;         /* a number or CO_POOL_AUTO */
};
struct co_settings co_settings_get(void);     /* both, read together */
size_t co_settings_stack_size(void);
unsigned co_settings_pool_size(void);
void co_settings_set_stack_size(size_t bytes);   /* already validated */
unsigned co_settings_set_pool_size(unsigned n);  /* returns the one before */

/*
 * handoff.c. A baton is how one thread waits for its turn: one mutex, one
 * condition variable and one predicate per thread, so waking one thread
 * never wakes another and no lock is held while the woken thread runs.
 * Every switch is a post to the next thread's baton, then a wait on one's
 * own: the mutex is what tells the tools that the two sides are ordered.
 */
enum co_action {
    CO_ACT_NONE,
    CO_ACT_ENTER,     /* run (the entry function, or on from a yield) */
    CO_ACT_YIELD,     /* the coroutine we entered yielded back to us */
    CO_ACT_FINISH,    /* the coroutine we entered returned from its entry */
    CO_ACT_STOP,      /* leave the thread: process exit or pool trim */
};

/* Coroutines woken by the one that switches away, linked by wait_next:
 * they travel with the switch to the thread that runs them next. */
struct co_wakeups {
    Coroutine *head, *tail;
};

struct co_baton {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum co_action action;  /* CO_ACT_NONE while the owner must wait */
    int errno_value;        /* the sender's errno, restored by the owner */
    struct co_wakeups wakeups;
    atomic_uint signalling; /* posters between their unlock and signal */
};

/* 0, or the error of the call that failed (named in *fail); nothing is left
 * to destroy then. */
int co_baton_init(struct co_baton *baton, struct co_failure *fail);
/* The clock of co_baton_wait_until()'s deadlines. */
#ifdef HAVE_PTHREAD_CONDATTR_SETCLOCK
#define CO_BATON_CLOCK CLOCK_MONOTONIC
#else
#define CO_BATON_CLOCK CLOCK_REALTIME
#endif
void co_baton_destroy(struct co_baton *baton);
/* Whether this thread is inside a wait on baton, which a signal handler
 * has interrupted if it asks. */
bool co_baton_waited_on_here(const struct co_baton *baton);
/* In a fork() child, on the forking thread's own baton: a poster that was
 * on its way to the signal does not exist in the child. */
void co_baton_after_fork(struct co_baton *baton);
void co_baton_post(struct co_baton *to, enum co_action act,
                   const struct co_wakeups *wakeups);
/* Waits for a post; a CO_ACT_STOP never returns but jumps to the thread's
 * co_stop_target. Restores the poster's errno; wakeups may be NULL. */
enum co_action co_baton_wait(struct co_baton *self, struct co_wakeups *wakeups);
/* The same, without wake-ups, giving up at deadline (CO_BATON_CLOCK): then
 * CO_ACT_NONE. A cancellation point, as pthread_cond_timedwait(). */
enum co_action co_baton_wait_until(struct co_baton *self, const struct timespec *deadline);
/* Posts act and *wakeups to one baton, waits on another and returns what
 * came, with the wake-ups received in *wakeups. Not a cancellation point. */
enum co_action co_switch(struct co_baton *self, struct co_baton *to,
                         enum co_action act, struct co_wakeups *wakeups);
extern _Thread_local jmp_buf *co_stop_target;
/* What a jump to co_stop_target says (setjmp's non-zero values). */
#define CO_STOP_POSTED 1      /* a CO_ACT_STOP: the worker's object stays */
#define CO_STOP_LEFT_POOL 2   /* a surplus idle thread left: its object is freed */

/*
 * coroutine.c: a coroutine and its life.
 *
 *   CO_CREATED --enter--> CO_RUNNING --yield--> CO_SUSPENDED --enter--> ...
 *                             |
 *                             +--entry returns--> CO_FINISHED
 *
 * At process exit, parked coroutines are claimed as CO_STOPPED and their
 * threads unwound. Every entry into CO_RUNNING is a compare-and-swap, which
 * is how two threads entering one coroutine at once are caught. A thread's
 * leader (what qemu_coroutine_self() returns outside coroutines) is always
 * CO_RUNNING.
 */
enum co_state {
    CO_CREATED,
    CO_RUNNING,
    CO_SUSPENDED,
    CO_FINISHED,
    CO_STOPPED,
};

struct co_worker;

struct Coroutine {
    atomic_int state;             /* enum co_state */
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;            /* who entered us last, while running */
    struct co_baton *baton;       /* where the thread running it waits */
    struct co_worker *worker;     /* NULL for a leader */

    /* Coroutine locks and queues (lock.c): the first two are guarded by the
     * quiet lock of the object whose line the coroutine is in. wait_next is
     * also a wake-up list's link outside it, on threads that the tools see
     * ordered by nothing else: relaxed atomic accesses, which
     * ThreadSanitizer does not take for a race (helgrind and DRD do not
     * check it). */
    _Atomic(Coroutine *) wait_next;   /* link in a wait line or a wake-up list */
    bool wait_write;              /* waits in a CoRwlock line to write */
    atomic_int wait_state;        /* enum co_wait_state */
    struct co_wakeups woken;      /* the ones it woke, to run after it */
    struct co_held_lock *held;    /* the locks it holds, in any mode */
    unsigned held_count, held_room;
};

/* A CoMutex or a CoRwlock that a coroutine holds (lock.c). */
struct co_held_lock {
    void *object;
    bool rwlock;
    bool write;                   /* the mode the tools know (a CoMutex: true) */
};

enum co_wait_state {
    CO_WAIT_NONE,
    CO_WAIT_IN_LINE,              /* in a CoQueue's or a lock's line */
    CO_WAIT_WOKEN,                /* out of the line, not run yet */
};

static inline Coroutine *co_next(Coroutine *co)
{
    return atomic_load_explicit(&co->wait_next, memory_order_relaxed);
}

static inline void co_set_next(Coroutine *co, Coroutine *next)
{
    atomic_store_explicit(&co->wait_next, next, memory_order_relaxed);
}

extern _Thread_local Coroutine *co_current;
/* The running coroutine; aborts naming func outside coroutines. */
Coroutine *co_self_in_coroutine(const char *func);
/* Makes a waiter run (see "Waking up" in the public header). */
void co_wake(Coroutine *co);
extern bool co_forked_in_coroutine;
/* At exit: whether co (not self) may be stopped, claiming it if so. */

/*
 * worker.c. A worker is a thread that runs one coroutine at a time. The
 * handle of that coroutine lives in the worker's allocation, so that a
 * finished handle stays valid memory while its worker sits in the pool;
 * the worker itself waits on its own baton, never on anything in the
 * handle, so a finished handle is inert once its last enter has returned.
 */
struct co_worker {
    Coroutine co;
    struct co_baton baton;
    pthread_t thread;
    size_t stack_size;
    unsigned fork_generation;
    struct {                          /* guarded by the registry's lock */
        struct co_worker *next, *prev;    /* every worker with a thread */
        struct co_worker *next_idle;      /* the pool, or the stop list */
        struct co_worker *prev_idle;      /* the pool */
        bool idle;
    } links;
};

/* Which function runs a coroutine's body (coroutine.c's, set at load). */
void co_workers_run_with(void (*run)(Coroutine *));
/* Which function a worker stopped at exit calls on its coroutine, on its
 * own thread, before it leaves (lock.c's, set at load). */
void co_workers_abandon_with(void (*abandon)(Coroutine *));
/* A worker for a new coroutine, from the pool or with a fresh thread; NULL
 * with *fail set when no thread can be had. */
struct co_worker *co_worker_get(struct co_failure *fail);
/* The coroutine finished: back to the pool, or stopped and freed. */
void co_worker_put(struct co_worker *w);
bool co_worker_is_stale(const struct co_worker *w);    /* from before fork() */
size_t co_workers_live(void);
void co_workers_stop_for_exit(bool (*claim)(Coroutine *, const Coroutine *),
                              const Coroutine *self);

#endif
