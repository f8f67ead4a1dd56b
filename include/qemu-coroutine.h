/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu-coroutine.h - QEMU's coroutine API, implemented on POSIX threads.
 *
 * This file is part of cothread. The declarations keep the names and the
 * signatures of QEMU's 2011 coroutine interface, so code written for it
 * builds against cothread unchanged; the documentation is cothread's own.
 *
 * The model
 * ---------
 * A coroutine is a function that can stop in the middle (yield) and be
 * continued later (entered again) from where it stopped. cothread runs each
 * coroutine on a POSIX thread of its own and passes control between threads
 * with a mutex and a condition variable, so that of a caller and the
 * coroutines it entered exactly one runs at any time. The handoffs are real
 * pthread synchronisation: valgrind (memcheck, helgrind, DRD),
 * ThreadSanitizer and gdb see every coroutine as a thread and every switch
 * as an ordering edge.
 *
 * cothread orders threads exactly where stack switching would, and nowhere
 * else: an enter orders what the enterer did before it with what the
 * coroutine does next; a yield or a finish orders what the coroutine did
 * with what its enterer does next; entering a suspended coroutine from
 * another thread orders that thread after the coroutine's last yield.
 * Creating, finishing, the thread pool and the settings order nothing, so
 * a race between two threads is reported as it would be without cothread.
 *
 * Each OS thread that is not a coroutine thread has a "leader": the object
 * qemu_coroutine_self() returns outside any coroutine. Coroutines entered
 * from that thread return control to it.
 *
 * What follows control
 * --------------------
 * errno travels with every switch: a coroutine starts with its enterer's
 * errno and the enterer sees the coroutine's errno when enter returns, as if
 * both ran on one thread. Other thread state does not travel: thread-local
 * variables, pthread_self(), the signal mask and the ownership of mutexes
 * belong to the coroutine's own thread. Coroutine threads block every
 * asynchronous signal, so handlers run on application threads.
 *
 * Misuse
 * ------
 * Misuse that cothread can detect (entering a running coroutine, entering a
 * leader, yielding outside a coroutine, two threads entering the same
 * coroutine at once, switching in a child forked inside a coroutine, NULL
 * arguments, pthread_exit() or cancellation inside a coroutine) prints one
 * line naming the call and the problem on stderr and calls abort(). Using a
 * handle after its coroutine finished is undefined, and so is leaving a
 * coroutine body by longjmp() to a jmp_buf set outside it (the caller's
 * code would go on on the coroutine's thread; cothread cannot see it).
 *
 * Running out of resources
 * ------------------------
 * Every call cothread makes that POSIX allows to fail for want of memory,
 * threads or other resources either comes back as an error from
 * cothread_try_create() or stops the program with one line that names the
 * public call, the call that failed and its error. Loading the library
 * stops the program that way if it cannot get its two thread-specific data
 * keys or register its fork and exit handlers. "internal error" in a
 * message is kept for calls that cannot fail when used correctly.
 *
 * Process exit
 * ------------
 * When the process exits (return from main() or exit()), coroutines that are
 * suspended or were never entered are abandoned as they would be with stack
 * switching: the rest of their body never runs, no cleanup handler or
 * destructor of theirs runs, and cothread unwinds and joins their threads so
 * that no tool reports a leak (their objects stay allocated and reachable; a
 * later attempt to enter one stops with a message). Exit handlers that the
 * application registers with atexit() run before this cleanup and may still
 * enter coroutines. A CoMutex or CoRwlock that an abandoned coroutine
 * holds stays held, and the analysis tools are told that its thread left
 * it: its memory must stay valid until the process ends, as a pthread
 * mutex's must while it is locked. Unlike a stack, a thread keeps the
 * process alive: a program that ends main() with pthread_exit() must
 * first finish its coroutines and call cothread_set_pool_size(0).
 *
 * Cancellation
 * ------------
 * A switch is not a cancellation point: a thread cancelled while a coroutine
 * it entered runs is cancelled at its next cancellation point after
 * qemu_coroutine_enter() returns, as on one thread. pthread_exit() or
 * cancellation inside a coroutine body is misuse (see above).
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#define COTHREAD_API __attribute__((visibility("default")))
#else
#define COTHREAD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Marks a function that may only be called from coroutine context (because
 * it may yield). It expands to nothing; it documents intent for readers and
 * for static checkers.
 */
#define coroutine_fn

/* An opaque coroutine handle. */
typedef struct Coroutine Coroutine;

/*
 * The body of a coroutine. It receives the opaque pointer of the first
 * qemu_coroutine_enter(). When it returns, the coroutine finishes: its
 * handle becomes invalid and control goes back to whoever entered it last.
 */
typedef void coroutine_fn CoroutineEntry(void *opaque);

/*
 * qemu_coroutine_create - make a coroutine that will run entry().
 *
 * Nothing runs yet: the coroutine starts at the first qemu_coroutine_enter().
 * Its thread comes from cothread's pool of idle threads or is created now,
 * with the stack size cothread_get_stack_size() reports.
 *
 * Returns a handle that stays valid until entry() returns.
 *
 * Misuse: a NULL entry aborts. When no thread can be created (thread or
 * memory limits), it aborts with a message that names the call that failed,
 * its error and the number of live coroutines; use cothread_try_create() to
 * recover instead.
 *
 * Thread-safety: may be called from any thread, inside or outside a
 * coroutine. The coroutine may later be entered from any thread.
 */
COTHREAD_API Coroutine *qemu_coroutine_create(CoroutineEntry *entry);

/*
 * qemu_coroutine_enter - run a coroutine until it yields or finishes.
 *
 * The calling thread (or coroutine) waits while the coroutine runs. On the
 * first entry, opaque is passed to the entry function; later entries ignore
 * it. The coroutine's next qemu_coroutine_yield() returns here, so a
 * coroutine always yields to whoever entered it last, not to its creator.
 *
 * Returns when the coroutine yields or finishes. errno is the coroutine's
 * errno at that moment. Once the entry function has returned, the handle
 * must not be used again.
 *
 * Misuse (each aborts with a message): a NULL coroutine; a coroutine that
 * is running or waiting for a coroutine it entered (this includes a
 * coroutine entering itself or one of its callers); a thread's leader (the
 * value of qemu_coroutine_self() outside coroutines); a coroutine that
 * another thread is entering at the same time; a coroutine created before
 * fork() in the child; any switch in a child forked inside a coroutine.
 *
 * The first entry of a coroutine with a new thread stops the program with
 * a message if that thread cannot record itself with pthread_setspecific()
 * (ENOMEM), which it needs to catch pthread_exit() in the body.
 *
 * Thread-safety: a suspended coroutine may be entered from any thread, one
 * thread at a time; the thread that enters it is the one its next yield
 * returns to.
 */
COTHREAD_API void qemu_coroutine_enter(Coroutine *coroutine, void *opaque);

/*
 * qemu_coroutine_yield - suspend the current coroutine.
 *
 * Control goes back to whoever entered the coroutine last, whose
 * qemu_coroutine_enter() then returns. This call returns when the coroutine
 * is entered again, from any thread, with errno set to that enterer's errno.
 *
 * Misuse: calling it outside a coroutine aborts with a message.
 *
 * Thread-safety: called by the running coroutine itself (on its own
 * thread); whoever resumes it may be any thread.
 */
COTHREAD_API void coroutine_fn qemu_coroutine_yield(void);

/*
 * qemu_coroutine_self - the coroutine that is running now.
 *
 * Inside a coroutine, returns its handle. Outside, returns the calling
 * thread's leader: never NULL, the same object for the life of the thread,
 * different for each thread, and freed when the thread exits. A leader can
 * be compared and passed to qemu_coroutine_entered(), but never entered.
 *
 * Aborts with a message naming the call that failed if the leader cannot be
 * made (no memory for it or its mutex and condition variable, or
 * pthread_setspecific() fails), or if this is the library's first use and
 * COTHREAD_STACK_SIZE or COTHREAD_POOL_SIZE is invalid (as every first use
 * does). qemu_coroutine_enter() and the wake-ups called outside coroutines
 * make the calling thread's leader first, and so may stop the same way.
 *
 * Thread-safety: may be called from any thread; the answer is the
 * caller's own.
 */
COTHREAD_API Coroutine *coroutine_fn qemu_coroutine_self(void);

/*
 * qemu_in_coroutine - whether the caller runs inside a coroutine.
 *
 * Returns true inside a coroutine body (and anything it calls), false on
 * application threads. Never allocates.
 *
 * Thread-safety: may be called from any thread; the answer is the
 * caller's own.
 */
COTHREAD_API bool qemu_in_coroutine(void);

/*
 * qemu_coroutine_entered - whether a coroutine is in the middle of a run.
 *
 * Returns true while the coroutine runs or waits for a coroutine it entered,
 * false after qemu_coroutine_create() and while it is suspended in
 * qemu_coroutine_yield() or waiting on a lock or queue. A leader is never
 * entered (as in QEMU, where a leader has no caller). The answer is exact
 * only when the caller is ordered with the coroutine's switches (for
 * example, it is in the same chain of enters).
 */
COTHREAD_API bool qemu_coroutine_entered(Coroutine *co);

/*
 * qemu_coroutine_enter_if_inactive - enter co, with a NULL opaque, unless
 * qemu_coroutine_entered(co) says it is running.
 *
 * Misuse: as qemu_coroutine_enter(); a leader is never entered, so passing
 * one aborts.
 *
 * Thread-safety: as qemu_coroutine_enter(). The check and the enter are
 * two steps: another thread entering co between them is caught as two
 * threads entering at once.
 */
COTHREAD_API void qemu_coroutine_enter_if_inactive(Coroutine *co);

/*
 * cothread_try_create - qemu_coroutine_create() for callers that can cope
 * with failure.
 *
 * Returns the new coroutine, or NULL with errno set: EINVAL for a NULL
 * entry (or, from pthread_create(), a stack size too small for the thread's
 * own thread-local storage), EAGAIN when no thread can be created (thread or
 * address-space limits) or the system lacks resources for the thread's
 * mutex or condition variable, ENOMEM when memory runs out. The library is
 * unchanged by a failure, and the next call may succeed.
 *
 * A coroutine with a new thread may still stop the program at its first
 * entry: see qemu_coroutine_enter().
 *
 * Thread-safety: as qemu_coroutine_create().
 */
COTHREAD_API Coroutine *cothread_try_create(CoroutineEntry *entry);

/*
 * cothread_set_stack_size - stack size of coroutine threads created from now
 * on, in bytes.
 *
 * The default is 1 MiB (256 KiB on WebAssembly, where every thread stack
 * is taken from the module's memory), or the value of the environment variable
 * COTHREAD_STACK_SIZE read at the first coroutine creation (bytes, with an
 * optional k, m or g suffix for KiB, MiB, GiB; an invalid value there stops
 * the program with a message). Sizes are rounded up to the page size. Idle
 * pooled threads of another size are discarded.
 *
 * Returns 0, or EINVAL (and changes nothing) when bytes is below
 * cothread_stack_size_min() or above 1 GiB.
 *
 * Thread-safety: may be called from any thread at any time.
 */
COTHREAD_API int cothread_set_stack_size(size_t bytes);

/* The stack size new coroutine threads get, in bytes. Thread-safe. */
COTHREAD_API size_t cothread_get_stack_size(void);

/* The smallest stack size cothread_set_stack_size() accepts. Thread-safe. */
COTHREAD_API size_t cothread_stack_size_min(void);

/* cothread_set_pool_size(COTHREAD_POOL_AUTO): the pool follows the load. */
#define COTHREAD_POOL_AUTO (~0u)

/*
 * cothread_set_pool_size - how many idle coroutine threads are kept for
 * reuse.
 *
 * When a coroutine finishes, its thread waits for the next coroutine instead
 * of exiting, up to this many idle threads. 0 turns the pool off: every
 * coroutine gets a fresh thread.
 *
 * COTHREAD_POOL_AUTO, the default, makes the pool follow the workload: every
 * finished coroutine's thread is kept, so a burst or a deep nest of
 * coroutines finds its threads waiting the next time, and a thread left idle
 * for 2 seconds (up to a quarter of a second more) exits while more than 64
 * are idle, so the pool shrinks back to what was recently in use. The
 * threads above 64 exit about one every 4 milliseconds, so a pool shrinking
 * by thousands takes seconds (about 16 from 4096 idle threads) instead of
 * taking the CPUs from the application at once. It keeps at most 4096 idle
 * threads and at
 * most 2 GiB of idle stacks (128 MiB where pointers are 32 bits), but
 * always room for 64 threads, whatever their stack size.
 *
 * Under valgrind and in a process with ThreadSanitizer the default is 0.
 * The environment variable COTHREAD_POOL_SIZE, read at the library's first
 * use, sets the default: a number from 0 to 65536, or "auto". Lowering the
 * size releases idle threads at once; so does a switch from a number to
 * COTHREAD_POOL_AUTO, down to 64 (the automatic pool grows again as the
 * workload needs).
 *
 * Under the analysis tools keep the pool off: a reused thread runs its
 * coroutines one after the other, so helgrind, DRD and ThreadSanitizer see
 * everything a finished coroutine did as ordered before the next coroutine
 * on that thread, whichever application thread created it, and miss races
 * between the two.
 *
 * A reused thread starts each coroutine with the same signal mask, thread
 * name and errno handling as a fresh one; what it keeps is the application's
 * own thread-local state (for example _Thread_local variables).
 *
 * Returns 0, or EINVAL when n is above 65536 and not COTHREAD_POOL_AUTO.
 *
 * Thread-safety: may be called from any thread at any time.
 */
COTHREAD_API int cothread_set_pool_size(unsigned n);

/* The pool setting: a number, or COTHREAD_POOL_AUTO. Thread-safe. */
COTHREAD_API unsigned cothread_get_pool_size(void);

/*
 * Coroutine locks and queues
 * --------------------------
 * CoQueue, CoMutex and CoRwlock make coroutines wait for each other. The
 * types are complete so that they can be embedded in other structures; an
 * all-zero object is a valid, empty and unlocked one, and there is no
 * destroy call. Their fields belong to cothread.
 *
 * Waking up. A coroutine woken from inside a coroutine (by
 * qemu_co_queue_next(), qemu_co_queue_restart_all(), or an unlock that
 * hands a lock over) does not run at once: the waker runs on, and the
 * woken coroutine runs when the waker yields or finishes, entered by the
 * same qemu_coroutine_enter() call that entered the waker, before that call
 * returns. Several wake-ups run in the order they were issued; wake-ups
 * issued by a woken coroutine run before the waker's next one. A wake-up
 * from outside any coroutine (qemu_co_enter_next(), or qemu_co_queue_next()
 * on an application thread) runs the waiter at once and returns when it
 * yields or finishes.
 *
 * Threads. Coroutines of different threads' chains may share a lock or a
 * queue. A waiter woken by a coroutine of another thread's chain runs in
 * the waker's chain (its next yield returns there). A wake-up may reach a
 * waiter that is still on its way into its wait on another thread: the
 * wake-up then waits for it to get there, and is never lost.
 *
 * Misuse (each aborts with a message): a NULL queue, mutex or lock (the
 * message names the call and the type); waiting or locking outside a
 * coroutine; unlocking a CoMutex or a CoRwlock the calling coroutine does
 * not hold; locking a CoMutex or a CoRwlock it already holds (neither is
 * recursive: it would wait forever); upgrading a CoRwlock held for writing
 * or downgrading one held for reading; finishing a coroutine that holds a
 * CoMutex or a CoRwlock; entering with qemu_coroutine_enter() a coroutine
 * that waits in a queue's or a lock's line, or has been woken from it but
 * has not run yet (only the wake-up runs it); waking, in a child process, a
 * waiter created before fork(). Calling an init function on an object that
 * coroutines hold or wait on is undefined: their line is forgotten.
 *
 * The analysis tools see a CoMutex and a CoRwlock as locks held by the
 * coroutine's thread: helgrind and ThreadSanitizer report lock-order
 * inversions between them. A lock orders what a pthread lock would: an
 * unlock before the next acquisition (a CoRwlock's read unlock before the
 * next write lock, not before another read lock). A wake-up orders the
 * waker before what the woken coroutine does next, by the switch that runs
 * it. Waiting in a line, a wake-up's bookkeeping and qemu_co_queue_empty()
 * order nothing, so races between coroutines that share a lock or a queue
 * stay visible.
 *
 * Thread-safety: every call may be made from any thread; the calls that
 * wait or lock, from inside a coroutine.
 */

/* A spinlock word: cothread's own, in the structures below. */
struct cothread_lock_word {
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(__STDC_NO_ATOMICS__)
    _Atomic int held_;
#else
    int held_;          /* same size and alignment as the atomic int */
#endif
};

typedef struct CoQueue {
    struct cothread_lock_word lock_;
    Coroutine *head_, *tail_;
} CoQueue;

typedef struct CoMutex {
    char tool_id_;          /* never written: the lock's address for the tools */
    struct cothread_lock_word lock_;
    Coroutine *holder_;
    Coroutine *head_, *tail_;
} CoMutex;

typedef struct CoRwlock {
    char tool_id_;          /* never written: the lock's address for the tools */
    struct cothread_lock_word lock_;
    unsigned readers_;      /* coroutines holding it for reading */
    Coroutine *writer_;     /* the coroutine holding it for writing */
    Coroutine *head_, *tail_;
} CoRwlock;

/* qemu_co_queue_init - make queue empty. Same as zero-filling it. */
COTHREAD_API void qemu_co_queue_init(CoQueue *queue);

/*
 * qemu_co_queue_wait - wait in queue until woken.
 *
 * Two spellings: qemu_co_queue_wait(queue), and qemu_co_queue_wait(queue,
 * mutex), which unlocks the CoMutex mutex (held by the caller) once the
 * caller is in the queue, and locks it again before returning. The caller
 * is suspended: control goes back to whoever entered it last, and returns
 * here when a wake-up runs it (see "Waking up").
 *
 * Misuse: outside a coroutine; with a mutex the caller does not hold.
 */
#define qemu_co_queue_wait(...) \
    cothread_co_queue_wait(COTHREAD_ARG1_(__VA_ARGS__, ~), \
                           COTHREAD_ARG2_(__VA_ARGS__, NULL, ~))
#define COTHREAD_ARG1_(a, ...) a
#define COTHREAD_ARG2_(a, b, ...) b
/* What qemu_co_queue_wait() calls; mutex may be NULL. */
COTHREAD_API void coroutine_fn cothread_co_queue_wait(CoQueue *queue, CoMutex *mutex);

/*
 * qemu_co_queue_next - wake the coroutine that has waited longest.
 * Returns whether there was one. From inside a coroutine the woken one
 * runs later (see "Waking up"); from an application thread, at once.
 */
COTHREAD_API bool qemu_co_queue_next(CoQueue *queue);

/* qemu_co_queue_restart_all - wake every waiter, oldest first. */
COTHREAD_API void qemu_co_queue_restart_all(CoQueue *queue);

/*
 * qemu_co_enter_next - wake the oldest waiter and, outside a coroutine, run
 * it now: returns when it yields or finishes. Returns whether there was
 * one. Inside a coroutine it is qemu_co_queue_next().
 */
COTHREAD_API bool qemu_co_enter_next(CoQueue *queue);

/* qemu_co_queue_empty - whether no coroutine waits in queue. */
COTHREAD_API bool qemu_co_queue_empty(CoQueue *queue);

/* qemu_co_mutex_init - make mutex unlocked. Same as zero-filling it. */
COTHREAD_API void qemu_co_mutex_init(CoMutex *mutex);

/*
 * qemu_co_mutex_lock - lock mutex for the calling coroutine.
 *
 * If another coroutine holds it, the caller waits (suspended) in line:
 * each unlock hands the mutex to the coroutine that has waited longest, so
 * a coroutine that comes later never takes it first. It is not recursive.
 *
 * Misuse: outside a coroutine; when the caller already holds mutex. Stops
 * the program with a message if no memory is left to note the mutex among
 * the locks the caller holds (as the CoRwlock calls do).
 */
COTHREAD_API void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex);

/*
 * qemu_co_mutex_unlock - unlock mutex, handing it to the oldest waiter, if
 * any, which runs later (see "Waking up").
 *
 * Misuse: when the calling coroutine does not hold mutex.
 */
COTHREAD_API void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex);

/* qemu_co_rwlock_init - make lock unlocked. Same as zero-filling it. */
COTHREAD_API void qemu_co_rwlock_init(CoRwlock *lock);

/*
 * qemu_co_rwlock_rdlock / qemu_co_rwlock_wrlock - lock for reading (shared
 * with other readers) or for writing (exclusive).
 *
 * Fair: coroutines get the lock in the order they asked for it, so a
 * waiting writer holds back readers that come after it; readers next to
 * each other in line get it together.
 *
 * Misuse: outside a coroutine; when the caller holds lock already, in
 * either mode (it is not recursive). Each coroutine keeps a list of the
 * CoRwlocks it holds: if there is no memory to grow it, the call stops the
 * program with a message.
 */
COTHREAD_API void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock);
COTHREAD_API void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock);

/*
 * qemu_co_rwlock_unlock - release the lock the caller holds, in either
 * mode, and hand it on to the next in line.
 *
 * Misuse: when the calling coroutine does not hold lock.
 */
COTHREAD_API void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock);

/*
 * qemu_co_rwlock_upgrade - from reading to writing. The read lock is given
 * up first; the caller then waits until the other readers are gone, and
 * behind any writer that was already in line (that writer goes first).
 * What the caller read may have changed by the time it writes.
 *
 * Misuse: when the caller does not hold lock for reading.
 */
COTHREAD_API void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock);

/*
 * qemu_co_rwlock_downgrade - from writing to reading, without letting go:
 * the readers waiting at the front of the line get the lock too.
 *
 * Misuse: when the caller does not hold lock for writing.
 */
COTHREAD_API void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock);

#ifdef __cplusplus
}
#endif

#endif /* QEMU_COROUTINE_H */
