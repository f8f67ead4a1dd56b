/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Workers: the threads that run coroutine bodies. This file owns their
 * creation, the registry of all of them (for exit and fork), the pool of
 * idle ones, and the public calls that change the stack and pool sizes.
 *
 * Nothing here may order two application threads in the analysis tools'
 * eyes: the registry sits behind a quiet lock, and under the tools the pool
 * is off by default (settings.c), so no thread runs two threads'
 * coroutines one after the other. Under helgrind and DRD, threads are
 * also created by a spawner thread of the library's own rather than by the
 * application thread that asks for a coroutine: glibc's pthread_create()
 * takes a lock of its own (the one guarding thread-local storage setup)
 * that helgrind and DRD see, and every thread that created a coroutine
 * would be ordered after every other that did so before.
 */
#include "config.h"

#ifdef HAVE_PTHREAD_SETNAME_NP
#define _GNU_SOURCE 1
#endif

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__) && defined(HAVE_SYS_PRCTL_H)
#include <sys/prctl.h>
#define HAVE_FUTEX_HASH_PRCTL 1
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif
#endif

#include "coroutine-int.h"

#define CO_THREAD_NAME "coroutine"

static void (*run_coroutine)(Coroutine *);
static void (*abandon_coroutine)(Coroutine *);
/* Changed only in a fork() child while it has one thread. */
static unsigned fork_generation;
static sigset_t worker_sigmask;     /* every asynchronous signal blocked */
static pthread_key_t worker_key;    /* set while a thread is a worker */
/* Set on a worker told to leave: its key's destructor then has nothing to
 * report. A flag rather than clearing the key, which could fail. */
static _Thread_local bool worker_stopped;

static struct {
    struct cothread_lock_word lock;
    struct co_worker *all;          /* the registry */
    struct co_worker *idle;         /* the pool */
    unsigned idle_count;
    size_t live_count;              /* handed out and not yet put back */
    bool exiting;
    unsigned long futex_slots;      /* private futex hash size, 0: leave it */
    struct timespec next_leave;     /* the next turn of a surplus idle thread */
} reg = { .futex_slots = 1 };

static void reg_lock(void)
{
    co_quiet_lock(&reg.lock);
    co_unchecked(&reg, sizeof(reg));
}

static void reg_unlock(void)
{
    co_quiet_unlock(&reg.lock);
}

/* Registry and pool; callers hold the lock. */

static void registry_add(struct co_worker *w)
{
    w->links.prev = NULL;
    w->links.next = reg.all;
    if (reg.all != NULL) {
        reg.all->links.prev = w;
    }
    reg.all = w;
}

static void registry_remove(struct co_worker *w)
{
    if (w->links.prev != NULL) {
        w->links.prev->links.next = w->links.next;
    } else {
        reg.all = w->links.next;
    }
    if (w->links.next != NULL) {
        w->links.next->links.prev = w->links.prev;
    }
}

/* The pool is a stack: the threads used last are reused first, so those
 * that stay idle are the ones the workload no longer needs. */
static void idle_push(struct co_worker *w)
{
    w->links.idle = true;
    w->links.prev_idle = NULL;
    w->links.next_idle = reg.idle;
    if (reg.idle != NULL) {
        reg.idle->links.prev_idle = w;
    }
    reg.idle = w;
    reg.idle_count++;
}

static void idle_remove(struct co_worker *w)
{
    if (w->links.prev_idle != NULL) {
        w->links.prev_idle->links.next_idle = w->links.next_idle;
    } else {
        reg.idle = w->links.next_idle;
    }
    if (w->links.next_idle != NULL) {
        w->links.next_idle->links.prev_idle = w->links.prev_idle;
    }
    w->links.idle = false;
    reg.idle_count--;
}

static struct co_worker *idle_pop(void)
{
    struct co_worker *w = reg.idle;

    if (w != NULL) {
        idle_remove(w);
    }
    return w;
}

/* How many idle threads the pool keeps at most. */
static unsigned pool_cap(struct co_settings now)
{
    size_t cap;

    if (now.pool_size != CO_POOL_AUTO) {
        return now.pool_size;
    }
    cap = CO_POOL_AUTO_MAX_BYTES / now.stack_size;
    if (cap > CO_POOL_AUTO_MAX_THREADS) {
        cap = CO_POOL_AUTO_MAX_THREADS;
    }
    return cap > CO_POOL_BASE ? (unsigned)cap : CO_POOL_BASE;
}

/* Tells a parked worker to leave and waits for it. The join must not be
 * where a cancellation of the caller lands (it would leave the thread
 * running and the object half-freed). Cancellation goes off before the
 * post, so that the caller makes no call while the worker leaves. */
static void stop_and_join(struct co_worker *w)
{
    int cancel_state;

    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state));
    co_baton_post(&w->baton, CO_ACT_STOP, NULL);
    CO_PTHREAD(pthread_join(w->thread, NULL));
    CO_PTHREAD(pthread_setcancelstate(cancel_state, NULL));
}

static void worker_free(struct co_worker *w)
{
    free(w->co.held);
    co_baton_destroy(&w->baton);
    /* The next object at this address is another coroutine: it must not
     * inherit the edges of this one's yields. */
    co_happens_forget(&w->co.state);
    co_happens_forget(&w->links);
    free(w);
}

/* The worker thread */

static void thread_set_name(void)
{
#ifdef HAVE_PTHREAD_SETNAME_NP
    (void)pthread_setname_np(pthread_self(), CO_THREAD_NAME);
#endif
}

/* A worker thread leaving by any way but a CO_ACT_STOP (pthread_exit() or
 * cancellation in a coroutine body) would leave its caller waiting
 * forever. */
static void on_worker_exit(void *worker)
{
    (void)worker;
    if (worker_stopped) {
        return;
    }
    co_die("pthread_exit", "called inside a coroutine (or its thread was "
                           "cancelled): the coroutine's caller would wait forever");
}

static struct timespec plus_ms(struct timespec t, long ms)
{
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += ms % 1000 * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool earlier(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Where in the spread a thread's first deadline falls: from its object's
 * address, which differs between threads idle since the same moment. */
static long idle_spread_ms(const struct co_worker *w)
{
    uint64_t h = ((uint64_t)(uintptr_t)w >> 4) * 0x9e3779b97f4a7c15u;

    return (long)((h >> 32) % CO_POOL_IDLE_SPREAD_MS);
}

enum idle_verdict {
    IDLE_STAYS,         /* at the base, taken meanwhile, or no longer automatic */
    IDLE_LATER,         /* surplus, but others are leaving: wait for a turn */
};

/*
 * A thread idle past its deadline in an automatic pool above its base
 * leaves, unless someone took it meanwhile: the pool shrinks to what the
 * workload used recently. Thousands may have gone idle at once (after a
 * burst), and thousands of threads leaving together would take the CPUs
 * from the application for a while (hundreds of milliseconds were seen),
 * so they leave about one every CO_POOL_LEAVE_GAP_MS: a thread that comes
 * before the next turn is given it (*deadline) and leaves then, if it is
 * still surplus. Whether it may leave is decided under the lock, so that
 * nobody can post to it afterwards; nobody will join it.
 */
static enum idle_verdict leave_if_surplus(struct co_worker *w, struct timespec *deadline,
                                          bool has_turn)
{
    struct timespec now;
    bool leave = false;

    if (co_settings_pool_size() != CO_POOL_AUTO ||
        clock_gettime(CO_BATON_CLOCK, &now) != 0) {
        return IDLE_STAYS;
    }
    reg_lock();
    if (w->links.idle && reg.idle_count > CO_POOL_BASE) {
        if (has_turn || !earlier(&now, &reg.next_leave)) {
            if (!has_turn) {
                reg.next_leave = plus_ms(now, CO_POOL_LEAVE_GAP_MS);
            }
            idle_remove(w);
            registry_remove(w);
            leave = true;
        } else {
            /* Turns given to threads that were taken since, or found the
             * pool at its base, are never used: no turn lies further ahead
             * than the surplus threads need, or the pool could stop
             * shrinking for long after a workload that came and went. */
            struct timespec last = plus_ms(now, (long)(reg.idle_count - CO_POOL_BASE) *
                                                    CO_POOL_LEAVE_GAP_MS);
            if (earlier(&last, &reg.next_leave)) {
                reg.next_leave = last;
            }
            *deadline = reg.next_leave;
            reg.next_leave = plus_ms(reg.next_leave, CO_POOL_LEAVE_GAP_MS);
            reg_unlock();
            return IDLE_LATER;
        }
    }
    reg_unlock();
    if (leave) {
        /* After the put that made it idle, which the last enterer made
         * after its last look at the object (see co_worker_put). */
        co_happens_after(&w->links);
        CO_PTHREAD(pthread_detach(pthread_self()));
        /* The application's key destructors run as the thread leaves and
         * may call cothread: not as the coroutine this object was. */
        co_current = NULL;
        worker_free(w);
        longjmp(*co_stop_target, CO_STOP_LEFT_POOL);
    }
    return IDLE_STAYS;
}

/* The wait between two coroutines: in an automatic pool, until a deadline
 * at first, so that a thread the workload no longer needs can leave. A
 * thread that stays (the pool is at its base, or it was taken) waits
 * without one. */
static enum co_action wait_for_next(struct co_worker *w)
{
    struct timespec deadline;
    bool has_turn = false;
    enum co_action act;

    if (co_settings_pool_size() != CO_POOL_AUTO ||
        clock_gettime(CO_BATON_CLOCK, &deadline) != 0) {
        return co_baton_wait(&w->baton, NULL);
    }
    deadline = plus_ms(deadline, CO_POOL_IDLE_SECONDS * 1000L + idle_spread_ms(w));
    for (;;) {
        act = co_baton_wait_until(&w->baton, &deadline);
        if (act != CO_ACT_NONE) {
            return act;
        }
        if (leave_if_surplus(w, &deadline, has_turn) == IDLE_STAYS) {
            return co_baton_wait(&w->baton, NULL);
        }
        has_turn = true;
    }
}

/*
 * Every library call a worker makes that can fail happens while it has
 * control, never between its creation and its first coroutine or between
 * posting a finish and its next wait: it then never runs alongside the
 * thread that has control, so those calls of a program happen in one order
 * from run to run (which is what lets the fault-injection test name its
 * k-th call). Between a finish and the next wait it only reads the clock
 * and the pool setting, and a thread leaving the pool only frees.
 * Returns only by a CO_ACT_STOP's jump.
 */
static _Noreturn void serve(struct co_worker *w)
{
    bool reused = false;
    /* This first wait is a cancellation point, but nothing can cancel the
     * thread yet: only the library knows its id until a coroutine runs on
     * it. From the first body on, co_run() keeps cancellation off outside
     * the body, so the later waits are none. */
    enum co_action act = co_baton_wait(&w->baton, NULL);
    /* The key is what catches pthread_exit() in a body. POSIX lets setting
     * it fail (ENOMEM); the coroutine was already handed out and is being
     * entered, so all that is left is to stop with the reason. */
    int err = pthread_setspecific(worker_key, w);

    if (err != 0) {
        co_die_failed("qemu_coroutine_enter", "cannot start a coroutine thread",
                      "pthread_setspecific", err);
    }
    for (;;) {
        assert(act == CO_ACT_ENTER);
        (void)act;  /* read only by the assertion */
        /* POSIX threads inherit the mask thread_start() set; Emscripten's
         * (3.1) start with an empty one. A reused thread starts like a fresh
         * one, whatever the last body changed. */
        CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &worker_sigmask, NULL));
        if (reused) {
            CO_PTHREAD(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL));
            thread_set_name();
        }
        run_coroutine(&w->co);
        reused = true;
        act = wait_for_next(w);
    }
}

static void no_cleanup(void *arg)
{
    (void)arg;
}

static void *worker_main(void *arg)
{
    jmp_buf stop;

    thread_set_name();
    /*
     * The jump back here at exit skips the pops of the cleanup handlers
     * that the abandoned coroutine body pushed. Popping this handler puts
     * the thread's list of them back as it was before: musl (and so
     * Emscripten) runs every handler still listed when a thread returns,
     * and those live in the abandoned frames.
     */
    pthread_cleanup_push(no_cleanup, NULL);
    switch (setjmp(stop)) {
    case 0:
        co_stop_target = &stop;
        serve(arg);
    case CO_STOP_LEFT_POOL:     /* the object is freed */
        break;
    default:                    /* stopped, with or without a coroutine */
        if (abandon_coroutine != NULL) {
            abandon_coroutine(&((struct co_worker *)arg)->co);
        }
        break;
    }
    pthread_cleanup_pop(0);
    worker_stopped = true;
    /* The key destructors that run as the thread leaves are outside any
     * coroutine. */
    co_current = NULL;
    return NULL;
}

/* Starts w's thread; returns 0, or the error of the call that failed with
 * its name in *call. Whoever calls this is ordered before the thread in
 * the tools' eyes. */
static int thread_start(struct co_worker *w, size_t stack_size, pthread_t *thread,
                        const char **call)
{
    pthread_attr_t attr;
    sigset_t saved;
    int err;

    /* POSIX lets it fail with ENOMEM. */
    err = pthread_attr_init(&attr);
    if (err != 0) {
        *call = "pthread_attr_init";
        return err;
    }
    err = pthread_attr_setstacksize(&attr, stack_size);
    if (err != 0) {
        *call = "pthread_attr_setstacksize";
    } else {
        /* The new thread inherits the mask: no signal can land on it before
         * it could block them itself. */
        CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &worker_sigmask, &saved));
        err = pthread_create(thread, &attr, worker_main, w);
        *call = "pthread_create";
        CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &saved, NULL));
    }
    CO_PTHREAD(pthread_attr_destroy(&attr));
    return err;
}

/*
 * The spawner (under helgrind and DRD only). Requests and replies travel through
 * pipes, which helgrind and DRD do not take for synchronisation, so the
 * spawner's view of time never includes an application thread's: the
 * threads it creates start ordered after nothing of the application. The
 * turn pipe holds one byte, the right to the next request and reply.
 */
struct spawn_request {
    struct co_worker *worker;       /* NULL: leave */
    size_t stack_size;
};

struct spawn_reply {
    int err;
    const char *call;               /* which call failed: a static string */
    pthread_t thread;
};

static struct {
    atomic_bool running;
    int request[2], reply[2], turn[2];
    pthread_t thread;
} spawner;

static void pipe_io(bool reading, int fd, void *buf, size_t len)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = reading ? read(fd, p, len) : write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            co_pthread_check(n < 0 ? errno : EPIPE, "the spawner's pipe");
        }
        p += n;
        len -= (size_t)n;
    }
}

static void *spawner_main(void *arg)
{
    struct spawn_request req;
    (void)arg;

    for (;;) {
        struct spawn_reply reply;

        memset(&reply, 0, sizeof(reply));   /* padding goes down the pipe */
        pipe_io(true, spawner.request[0], &req, sizeof(req));
        if (req.worker == NULL) {
            return NULL;
        }
        reply.err = thread_start(req.worker, req.stack_size, &reply.thread,
                                 &reply.call);
        pipe_io(false, spawner.reply[1], &reply, sizeof(reply));
    }
}

static bool open_pipe(int fds[2])
{
    if (pipe(fds) != 0) {
        return false;
    }
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return true;
}

static void close_pipe(int fds[2])
{
    (void)close(fds[0]);
    (void)close(fds[1]);
}

/* Without a spawner (no pipes, no thread), threads are created by whoever
 * asks: correct, only more ordered in the tools' eyes. */
static void spawner_start(void)
{
    sigset_t all, saved;
    char token = 0;
    int err;

    co_unchecked(&spawner, sizeof(spawner));
    if (!open_pipe(spawner.request)) {
        return;
    }
    if (!open_pipe(spawner.reply)) {
        close_pipe(spawner.request);
        return;
    }
    if (!open_pipe(spawner.turn)) {
        close_pipe(spawner.request);
        close_pipe(spawner.reply);
        return;
    }
    pipe_io(false, spawner.turn[1], &token, 1);
    sigfillset(&all);
    CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &all, &saved));
    err = pthread_create(&spawner.thread, NULL, spawner_main, NULL);
    CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &saved, NULL));
    if (err != 0) {
        close_pipe(spawner.request);
        close_pipe(spawner.reply);
        close_pipe(spawner.turn);
        return;
    }
    atomic_store(&spawner.running, true);
}

static void spawner_stop(void)
{
    struct spawn_request req = { NULL, 0 };
    char token;

    if (!atomic_load(&spawner.running)) {
        return;
    }
    pipe_io(true, spawner.turn[0], &token, 1);
    atomic_store(&spawner.running, false);
    pipe_io(false, spawner.request[1], &req, sizeof(req));
    CO_PTHREAD(pthread_join(spawner.thread, NULL));
    close_pipe(spawner.request);
    close_pipe(spawner.reply);
    close_pipe(spawner.turn);
}

static int spawn(struct co_worker *w, size_t stack_size, const char **call)
{
    struct spawn_request req = { w, stack_size };
    struct spawn_reply reply;
    char token;

    if (!atomic_load(&spawner.running)) {
        return thread_start(w, stack_size, &w->thread, call);
    }
    pipe_io(true, spawner.turn[0], &token, 1);
    pipe_io(false, spawner.request[1], &req, sizeof(req));
    pipe_io(true, spawner.reply[0], &reply, sizeof(reply));
    pipe_io(false, spawner.turn[1], &token, 1);
    if (reply.err == 0) {
        w->thread = reply.thread;
    } else {
        *call = reply.call;
    }
    return reply.err;
}

static void stop_and_free_list(struct co_worker *list)
{
    while (list != NULL) {
        struct co_worker *w = list;
        list = w->links.next_idle;
        stop_and_join(w);
        worker_free(w);
    }
}

/*
 * On a new setting: detaches the idle workers above cap or with a stack
 * size no longer wanted, and returns them for stop_and_free_list() once
 * the lock is released: a thread that leaves runs the application's
 * thread-key destructors, which may call back into cothread.
 */
static struct co_worker *pool_trim_locked(struct co_settings now, unsigned cap)
{
    unsigned kept = 0;
    struct co_worker *dropped = NULL;
    struct co_worker *w = reg.idle;

    while (w != NULL) {
        struct co_worker *next = w->links.next_idle;
        if (kept < cap && w->stack_size == now.stack_size) {
            kept++;
        } else {
            idle_remove(w);
            registry_remove(w);
            w->links.next_idle = dropped;
            dropped = w;
        }
        w = next;
    }
    return dropped;
}

/* to_base: the pool has just become automatic. Threads that went idle
 * under a fixed size wait without a deadline and would never leave: it
 * keeps its base of them and grows again with the workload. */
static void pool_trim(bool to_base)
{
    struct co_settings now = co_settings_get();
    struct co_worker *dropped;

    reg_lock();
    dropped = pool_trim_locked(now, to_base ? CO_POOL_BASE : pool_cap(now));
    reg_unlock();
    stop_and_free_list(dropped);
}

/*
 * Linux 6.16 gave each process a private futex hash table sized for a few
 * waiters per CPU. Every parked coroutine waits on a futex of its own, so
 * with thousands of them parked each wake-up walks a long hash chain and a
 * switch gets slower with every suspended coroutine. Keep the table at least
 * as large as the number of coroutine threads. It is only ever grown, and
 * left alone when the process uses the global table (which the application
 * may have chosen) or the kernel refuses the call (older kernels).
 * Returns the table size now known, or 0 to stop trying.
 */
static unsigned long futex_hash_fit(size_t threads)
{
#ifdef HAVE_FUTEX_HASH_PRCTL
    /* Older kernels (and qemu-user) refuse the call with EINVAL: creating a
     * coroutine must not change errno. */
    int saved_errno = errno;
    unsigned long want = 16;
    unsigned long slots = 0;
    int now = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0);

    while (want < 2 * threads) {
        want *= 2;
    }
    if (now > 0 && (unsigned long)now >= threads) {
        slots = (unsigned long)now;
    } else if (now > 0 && prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, want, 0, 0) == 0) {
        slots = want;
    }
    errno = saved_errno;
    return slots;
#else
    (void)threads;
    return 0;
#endif
}

static void futex_hash_refit(void)
{
    size_t threads;
    bool refit;

    reg_lock();
    threads = reg.live_count + reg.idle_count;
    refit = reg.futex_slots != 0 && threads > reg.futex_slots;
    reg_unlock();
    if (refit) {
        unsigned long slots = futex_hash_fit(threads);
        reg_lock();
        reg.futex_slots = slots;
        reg_unlock();
    }
}

/* The calls coroutine.c and process.c use */

void co_workers_run_with(void (*run)(Coroutine *))
{
    run_coroutine = run;
}

void co_workers_abandon_with(void (*abandon)(Coroutine *))
{
    abandon_coroutine = abandon;
}

struct co_worker *co_worker_get(struct co_failure *fail)
{
    size_t stack_size = co_settings_stack_size();
    struct co_worker *w;

    reg_lock();
    w = idle_pop();
    if (w != NULL) {
        reg.live_count++;
        reg_unlock();
        /* With the pool on under the tools (against the header's advice),
         * the new coroutine's fields are written by whoever creates it,
         * after the previous coroutine's threads used them: say that the
         * put came first, as the documented cost of a pool under the tools
         * (the two application threads are ordered), instead of reporting
         * the library's own reuse as a race. */
        co_happens_after(&w->links);
        return w;
    }
    reg_unlock();

    /* A coroutine's state words are read, before the claim that orders
     * the reader, by whoever wakes it from a line: under ThreadSanitizer
     * the allocation must not count as a write of them. */
    co_unseen_begin();
    w = calloc(1, sizeof(*w));
    co_unseen_end();
    if (w == NULL) {
        fail->err = ENOMEM;
        fail->call = "calloc";
        return NULL;
    }
    /* Bookkeeping that crosses threads behind the quiet lock, or that the
     * exit handler reads in whatever thread calls exit(). */
    co_unchecked(&w->links, sizeof(w->links));
    co_unchecked(&w->thread, sizeof(w->thread));
    co_unchecked(&w->stack_size, sizeof(w->stack_size));
    co_unchecked(&w->fork_generation, sizeof(w->fork_generation));
    w->stack_size = stack_size;
    if (co_baton_init(&w->baton, fail) != 0) {
        free(w);
        return NULL;
    }
    w->fork_generation = fork_generation;
    fail->err = spawn(w, stack_size, &fail->call);
    if (fail->err != 0) {
        co_baton_destroy(&w->baton);
        free(w);
        return NULL;
    }

    reg_lock();
    registry_add(w);
    reg.live_count++;
    reg_unlock();
    futex_hash_refit();
    return w;
}

void co_worker_put(struct co_worker *w)
{
    struct co_settings now = co_settings_get();
    bool keep;

    /* For the next create of this object, if the pool keeps it (see
     * co_worker_get); outside the lock, which ThreadSanitizer is blind to. */
    co_happens_before(&w->links);
    reg_lock();
    reg.live_count--;
    keep = !reg.exiting && reg.idle_count < pool_cap(now) &&
           w->stack_size == now.stack_size;
    if (keep) {
        idle_push(w);
    } else {
        registry_remove(w);
    }
    reg_unlock();
    if (!keep) {
        stop_and_join(w);
        worker_free(w);
    }
}

bool co_worker_is_stale(const struct co_worker *w)
{
    return w->fork_generation != fork_generation;
}

size_t co_workers_live(void)
{
    size_t n;

    reg_lock();
    n = reg.live_count;
    reg_unlock();
    return n;
}

/*
 * Process exit. Every idle worker, and every worker whose coroutine claim()
 * accepts, is claimed under the lock first, then stopped and joined: a
 * thread that leaves runs key destructors, which may call cothread. The
 * objects stay allocated and registered (reachable): a handle used after
 * this, from a later exit handler or another thread, meets CO_STOPPED or
 * CO_FINISHED and a message, not freed memory.
 */
void co_workers_stop_for_exit(bool (*claim)(Coroutine *, const Coroutine *),
                              const Coroutine *self)
{
    struct co_worker *stopping = NULL;

    reg_lock();
    reg.exiting = true;
    for (struct co_worker *w = reg.all; w != NULL; w = w->links.next) {
        if (co_worker_is_stale(w)) {
            continue;
        }
        if (w->links.idle || claim(&w->co, self)) {
            w->links.idle = false;
            w->links.next_idle = stopping;
            stopping = w;
        }
    }
    reg.idle = NULL;
    reg.idle_count = 0;
    reg_unlock();

    while (stopping != NULL) {
        struct co_worker *w = stopping;
        stopping = w->links.next_idle;
        stop_and_join(w);
    }
    spawner_stop();
}

/*
 * fork(): only the forking thread exists in the child. Workers from before
 * the fork stay registered (reachable, never freed) but belong to an older
 * generation, so entering their coroutines fails with a message; the pool
 * is emptied. A spawner is started afresh in the child, while its only
 * thread is the one that forked.
 */
static void fork_prepare(void)
{
    reg_lock();
}

static void fork_parent(void)
{
    reg_unlock();
}

static void fork_child(void)
{
    fork_generation++;
    reg.idle = NULL;
    reg.idle_count = 0;
    reg.live_count = 0;
    reg.futex_slots = 1;
    reg.next_leave = (struct timespec){ 0, 0 };
    reg_unlock();
    if (atomic_load(&spawner.running)) {
        atomic_store(&spawner.running, false);
        close_pipe(spawner.request);
        close_pipe(spawner.reply);
        close_pipe(spawner.turn);
        spawner_start();
    }
}

__attribute__((constructor)) static void workers_load(void)
{
    static const int synchronous[] = {
        SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
    };
    static const struct co_process_hooks hooks = {
        .fork_prepare = fork_prepare,
        .fork_parent = fork_parent,
        .fork_child = fork_child,
    };
    int err;

    sigfillset(&worker_sigmask);
    for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++) {
        sigdelset(&worker_sigmask, synchronous[i]);
    }
    /* POSIX lets it fail (EAGAIN: no key left, ENOMEM); nothing can report
     * an error from a constructor, and the library needs the key. */
    err = pthread_key_create(&worker_key, on_worker_exit);
    if (err != 0) {
        co_die_failed("library load", "cannot create the coroutine threads' key",
                      "pthread_key_create", err);
    }
    co_process_watch(CO_STAGE_WORKERS, &hooks);
    if (co_under_helgrind_or_drd()) {
        spawner_start();
    }
}

/* The tunables' public calls */

int cothread_set_stack_size(size_t bytes)
{
    if (bytes < co_stack_size_min() || bytes > CO_STACK_SIZE_MAX) {
        return EINVAL;
    }
    co_settings_set_stack_size(bytes);
    pool_trim(false);
    return 0;
}

size_t cothread_get_stack_size(void)
{
    return co_settings_stack_size();
}

size_t cothread_stack_size_min(void)
{
    return co_stack_size_min();
}

int cothread_set_pool_size(unsigned n)
{
    unsigned before;

    if (n > CO_POOL_SIZE_MAX && n != CO_POOL_AUTO) {
        return EINVAL;
    }
    before = co_settings_set_pool_size(n);
    pool_trim(n == CO_POOL_AUTO && before != CO_POOL_AUTO);
    return 0;
}

unsigned cothread_get_pool_size(void)
{
    return co_settings_pool_size();
}
