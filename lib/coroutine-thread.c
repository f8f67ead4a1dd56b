/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The thread backend: every coroutine runs on a pthread of its own, and a
 * switch is a handoff between two threads' batons (coroutine-int.h).
 * This file also owns the registry of coroutine threads, the pool of idle
 * ones, the tunables, and what happens at fork() and at process exit.
 */
#include "config.h"

#ifdef HAVE_PTHREAD_SETNAME_NP
#define _GNU_SOURCE 1
#endif

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif
#ifdef HAVE_VALGRIND_HELGRIND_H
#include <valgrind/helgrind.h>
#endif
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

bool co_forked_in_coroutine;
unsigned co_fork_generation;

/* Everything below is protected by g.lock. */
static struct {
    pthread_mutex_t lock;
    bool initialized;
    bool hooks_registered;
    bool exiting;
    Coroutine *registry;        /* every coroutine object with a thread */
    Coroutine *idle;            /* the pool: finished objects whose thread waits */
    unsigned idle_count;
    size_t live_count;          /* created and not yet finished */
    size_t stack_size;
    unsigned pool_size;
    sigset_t thread_sigmask;
    pthread_key_t thread_key;   /* this thread's object, for its exit */
    unsigned long futex_slots;  /* private futex hash size, 0: leave it */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .futex_slots = 1 };

/* Where a coroutine thread goes when it is told to stop. */
static _Thread_local jmp_buf thread_exit;

void co_baton_init(struct co_baton *b)
{
    CO_PTHREAD(pthread_mutex_init(&b->lock, NULL));
    CO_PTHREAD(pthread_cond_init(&b->cond, NULL));
    b->action = CO_ACT_NONE;
}

void co_baton_destroy(struct co_baton *b)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    /* helgrind's wrappers for the destroy calls read the whole object,
     * including the owner word that glibc's unlock writes after helgrind has
     * recorded the release. When the thread that last handed us control
     * never synchronises with us again (it stays suspended), helgrind then
     * reports that libc-internal word as racing with the destroy. Nothing of
     * ours reads it, and helgrind follows the lock through its wrappers, not
     * through these words: stop checking accesses to them (the memory is
     * freed next, and checked afresh when reused). DRD ignores this; it is a
     * no-op outside valgrind. */
    VALGRIND_HG_DISABLE_CHECKING(b, sizeof(*b));
#endif
    CO_PTHREAD(pthread_cond_destroy(&b->cond));
    CO_PTHREAD(pthread_mutex_destroy(&b->lock));
}

static void baton_post(Coroutine *to, enum co_action act, int errno_value)
{
    struct co_baton *b = &to->baton;

    CO_PTHREAD(pthread_mutex_lock(&b->lock));
    assert(b->action == CO_ACT_NONE);
    b->action = act;
    b->errno_value = errno_value;
    /* Signal before unlocking: once the lock is released the woken side may
     * run on and free what b lives in. */
    CO_PTHREAD(pthread_cond_signal(&b->cond));
    CO_PTHREAD(pthread_mutex_unlock(&b->lock));
}

static enum co_action baton_wait(Coroutine *self)
{
    struct co_baton *b = &self->baton;
    enum co_action act;
    int errno_value;

    CO_PTHREAD(pthread_mutex_lock(&b->lock));
    while (b->action == CO_ACT_NONE) {
        CO_PTHREAD(pthread_cond_wait(&b->cond, &b->lock));
    }
    act = b->action;
    errno_value = b->errno_value;
    b->action = CO_ACT_NONE;
    CO_PTHREAD(pthread_mutex_unlock(&b->lock));

    if (act == CO_ACT_STOP) {
        longjmp(thread_exit, 1);
    }
    errno = errno_value;
    return act;
}

enum co_action co_switch(Coroutine *from, Coroutine *to, enum co_action act)
{
    int cancel_state;

    /* pthread_cond_wait() is a cancellation point, but a switch must not be
     * one: a thread cancelled while its coroutine runs would leave with the
     * chain half-way. The cancellation takes effect after the switch, at the
     * caller's next cancellation point, as it would on one thread. */
    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state));
    baton_post(to, act, errno);
    act = baton_wait(from);
    CO_PTHREAD(pthread_setcancelstate(cancel_state, NULL));
    return act;
}

/* Registry and pool; callers hold g.lock. */

static void registry_add(Coroutine *co)
{
    co->prev = NULL;
    co->next = g.registry;
    if (g.registry != NULL) {
        g.registry->prev = co;
    }
    g.registry = co;
}

static void registry_remove(Coroutine *co)
{
    if (co->prev != NULL) {
        co->prev->next = co->next;
    } else {
        g.registry = co->next;
    }
    if (co->next != NULL) {
        co->next->prev = co->prev;
    }
}

/* Tells a parked coroutine thread to leave and waits for it. The join must
 * not be where a cancellation of the caller lands (it would leave the
 * thread running and the object half-freed). */
static void stop_and_join(Coroutine *co)
{
    int cancel_state;

    baton_post(co, CO_ACT_STOP, 0);
    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state));
    CO_PTHREAD(pthread_join(co->thread, NULL));
    CO_PTHREAD(pthread_setcancelstate(cancel_state, NULL));
}

static void stop_and_free(Coroutine *co)
{
    stop_and_join(co);
    co_baton_destroy(&co->baton);
    free(co);
}

/*
 * Detaches the idle threads above the cap or with a stack size no longer
 * wanted, and returns them (linked by next_idle) for stop_and_free_all()
 * once g.lock is released: a thread that leaves runs the application's
 * thread-key destructors, which may call back into cothread.
 */
static Coroutine *pool_trim_locked(void)
{
    Coroutine **link = &g.idle;
    Coroutine *dropped = NULL;
    unsigned kept = 0;

    while (*link != NULL) {
        Coroutine *co = *link;
        if (kept < g.pool_size && co->stack_size == g.stack_size) {
            kept++;
            link = &co->next_idle;
            continue;
        }
        *link = co->next_idle;
        registry_remove(co);
        co->next_idle = dropped;
        dropped = co;
    }
    g.idle_count = kept;
    return dropped;
}

static void stop_and_free_all(Coroutine *list)
{
    while (list != NULL) {
        Coroutine *co = list;
        list = co->next_idle;
        stop_and_free(co);
    }
}

static void on_exit_stop_threads(void);
static void on_fork_prepare(void);
static void on_fork_parent(void);
static void on_fork_child(void);
static void on_thread_exit(void *object);

/* The thread key, the fork handlers and the exit handler: once per process. */
static void register_hooks(void)
{
    if (g.hooks_registered) {
        return;
    }
    CO_PTHREAD(pthread_key_create(&g.thread_key, on_thread_exit));
    CO_PTHREAD(pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child));
    if (atexit(on_exit_stop_threads) != 0) {
        co_die("coroutine backend", "cannot register the exit handler (atexit)");
    }
    g.hooks_registered = true;
}

#ifdef __GNUC__
/* Where the compiler allows, register them while the process (or dlopen())
 * is still single-threaded, so that no fork() can be half-way through when
 * the fork handlers appear; elsewhere the first use registers them. */
__attribute__((constructor)) static void register_hooks_at_load(void)
{
    register_hooks();
}
#endif

static unsigned default_pool_size(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    /* A fresh thread per coroutine makes each report name its creator. */
    if (RUNNING_ON_VALGRIND) {
        return co_env_pool_size(0);
    }
#endif
    return co_env_pool_size(CO_POOL_SIZE_DEFAULT);
}

static void init_locked(size_t stack_size, unsigned pool_size)
{
    static const int synchronous[] = {
        SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
    };

    g.stack_size = stack_size;
    g.pool_size = pool_size;
    sigfillset(&g.thread_sigmask);
    for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++) {
        sigdelset(&g.thread_sigmask, synchronous[i]);
    }
    register_hooks();
    g.initialized = true;
}

static void lock_initialized(void)
{
    CO_PTHREAD(pthread_mutex_lock(&g.lock));
    if (!g.initialized) {
        /* Parse outside the lock: a bad value stops the program, and it
         * should not stop holding a lock. */
        CO_PTHREAD(pthread_mutex_unlock(&g.lock));
        size_t stack_size = co_env_stack_size();
        unsigned pool_size = default_pool_size();
        CO_PTHREAD(pthread_mutex_lock(&g.lock));
        if (!g.initialized) {
            init_locked(stack_size, pool_size);
        }
    }
}

static void unlock(void)
{
    CO_PTHREAD(pthread_mutex_unlock(&g.lock));
}

/* Leaders */

void co_leader_register(Coroutine *leader)
{
    lock_initialized();
    unlock();
    CO_PTHREAD(pthread_setspecific(g.thread_key, leader));
}

static void leader_destroy(Coroutine *leader)
{
    co_baton_destroy(&leader->baton);
    free(leader);
    co_current = NULL;
}

/* Runs when a thread that has an object exits: an application thread frees
 * its leader; a coroutine thread leaving by any way but ours (pthread_exit()
 * or cancellation in a coroutine body) would leave its caller waiting
 * forever, so that stops the program. */
static void on_thread_exit(void *object)
{
    Coroutine *co = object;

    if (!co->is_leader) {
        co_die("pthread_exit", "called inside a coroutine (or its thread was "
                               "cancelled): the coroutine's caller would wait forever");
    }
    leader_destroy(co);
}

/* Coroutine threads */

static void thread_set_name(void)
{
#ifdef HAVE_PTHREAD_SETNAME_NP
    (void)pthread_setname_np(pthread_self(), CO_THREAD_NAME);
#endif
}

static void *thread_main(void *arg)
{
    Coroutine *co = arg;
    enum co_action act;
    bool reused = false;

    co_current = co;
    CO_PTHREAD(pthread_setspecific(g.thread_key, co));
    thread_set_name();
    if (setjmp(thread_exit) != 0) {
        CO_PTHREAD(pthread_setspecific(g.thread_key, NULL));
        return NULL;
    }
    act = baton_wait(co);
    for (;;) {
        assert(act == CO_ACT_ENTER);
        if (reused) {
            /* Start like a fresh thread, whatever the last body changed. */
            CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &g.thread_sigmask, NULL));
            CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL));
            CO_PTHREAD(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL));
            thread_set_name();
        }
        act = co_run_entry(co);
        reused = true;
    }
}

static int thread_start(Coroutine *co, const sigset_t *mask)
{
    pthread_attr_t attr;
    sigset_t saved;
    int err;

    CO_PTHREAD(pthread_attr_init(&attr));
    err = pthread_attr_setstacksize(&attr, co->stack_size);
    if (err == 0) {
        /* The new thread inherits the mask: no signal can land on it before
         * it has blocked them itself. */
        CO_PTHREAD(pthread_sigmask(SIG_SETMASK, mask, &saved));
        err = pthread_create(&co->thread, &attr, thread_main, co);
        CO_PTHREAD(pthread_sigmask(SIG_SETMASK, &saved, NULL));
    }
    CO_PTHREAD(pthread_attr_destroy(&attr));
    return err;
}

static void prepare(Coroutine *co, CoroutineEntry *entry)
{
    co->entry = entry;
    co->entry_arg = NULL;
    co->caller = NULL;
    atomic_store_explicit(&co->state, CO_CREATED, memory_order_relaxed);
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

Coroutine *co_thread_create(CoroutineEntry *entry, int *err)
{
    Coroutine *co;
    size_t stack_size;
    sigset_t mask;

    lock_initialized();
    co = g.idle;
    if (co != NULL) {
        g.idle = co->next_idle;
        g.idle_count--;
        g.live_count++;
        prepare(co, entry);
        unlock();
        return co;
    }
    stack_size = g.stack_size;
    mask = g.thread_sigmask;
    unlock();

    co = calloc(1, sizeof(*co));
    if (co == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    prepare(co, entry);
    co->stack_size = stack_size;
    co->fork_generation = co_fork_generation;
    co_baton_init(&co->baton);
    *err = thread_start(co, &mask);
    if (*err != 0) {
        co_baton_destroy(&co->baton);
        free(co);
        return NULL;
    }

    lock_initialized();
    registry_add(co);
    g.live_count++;
    size_t threads = g.live_count + g.idle_count;
    bool refit = g.futex_slots != 0 && threads > g.futex_slots;
    unlock();

    if (refit) {
        unsigned long slots = futex_hash_fit(threads);
        lock_initialized();
        g.futex_slots = slots;
        unlock();
    }
    return co;
}

void co_thread_release(Coroutine *co)
{
    bool keep;

    lock_initialized();
    g.live_count--;
    keep = !g.exiting && g.idle_count < g.pool_size &&
           co->stack_size == g.stack_size;
    if (keep) {
        atomic_store_explicit(&co->state, CO_IDLE, memory_order_relaxed);
        co->next_idle = g.idle;
        g.idle = co;
        g.idle_count++;
    } else {
        registry_remove(co);
    }
    unlock();
    if (!keep) {
        stop_and_free(co);
    }
}

size_t co_live_count(void)
{
    size_t n;

    lock_initialized();
    n = g.live_count;
    unlock();
    return n;
}

/*
 * Process exit. Suspended and never-entered coroutines are abandoned as
 * stack switching would abandon them, but their threads are unwound (a jump
 * back to thread_main) and joined, so that no tool reports a leak. When exit()
 * is called inside a coroutine, the coroutines waiting on it in its chain of
 * enters are parked too and get the same treatment. Coroutines running in
 * other threads' chains cannot be stopped safely and are left alone.
 */
static bool claim_for_exit(Coroutine *co, const Coroutine *self)
{
    int state = atomic_load_explicit(&co->state, memory_order_acquire);

    if (co == self || co->fork_generation != co_fork_generation) {
        return false;
    }
    switch (state) {
    case CO_CREATED:
    case CO_SUSPENDED:
    case CO_IDLE:
        return atomic_compare_exchange_strong(&co->state, &state, CO_STOPPED);
    case CO_RUNNING:
        return co_in_chain(self, co);
    default:
        return false;
    }
}

static void on_exit_stop_threads(void)
{
    Coroutine *self = co_current;
    Coroutine *stopping = NULL;

    CO_PTHREAD(pthread_mutex_lock(&g.lock));
    if (!g.initialized) {
        unlock();       /* never used: nothing to clean up */
        return;
    }
    g.exiting = true;
    g.idle = NULL;
    g.idle_count = 0;
    for (Coroutine *co = g.registry; co != NULL; co = co->next) {
        if (claim_for_exit(co, self)) {
            co->next_idle = stopping;
            stopping = co;
        }
    }
    unlock();

    /* Outside the lock: a leaving thread runs the application's thread-key
     * destructors, which may call cothread. The objects stay allocated and
     * registered (reachable): a handle used after this point, from a later
     * exit handler or another thread, meets CO_STOPPED and a message, not
     * freed memory. */
    while (stopping != NULL) {
        Coroutine *co = stopping;
        stopping = co->next_idle;
        stop_and_join(co);
    }

    if (self != NULL && self->is_leader) {
        CO_PTHREAD(pthread_setspecific(g.thread_key, NULL));
        leader_destroy(self);
    }
}

/*
 * fork(): only the forking thread exists in the child. Every coroutine
 * object from before the fork is kept (still reachable, never freed) but
 * marked as belonging to an older generation, so entering one fails with a
 * message. The pool is emptied. If the fork happened inside a coroutine, the
 * child's only thread is that coroutine's, and it has nobody to switch to.
 */
static void on_fork_prepare(void)
{
    CO_PTHREAD(pthread_mutex_lock(&g.lock));
}

static void on_fork_parent(void)
{
    unlock();
}

static void on_fork_child(void)
{
    co_fork_generation++;
    if (co_current != NULL && !co_current->is_leader) {
        co_forked_in_coroutine = true;
    }
    g.idle = NULL;
    g.idle_count = 0;
    g.live_count = 0;
    g.futex_slots = 1;
    unlock();
}

/* Tunables */

int cothread_set_stack_size(size_t bytes)
{
    if (bytes < co_stack_size_min() || bytes > CO_STACK_SIZE_MAX) {
        return EINVAL;
    }
    lock_initialized();
    g.stack_size = co_round_to_page(bytes);
    Coroutine *dropped = pool_trim_locked();
    unlock();
    stop_and_free_all(dropped);
    return 0;
}

size_t cothread_get_stack_size(void)
{
    size_t bytes;

    lock_initialized();
    bytes = g.stack_size;
    unlock();
    return bytes;
}

size_t cothread_stack_size_min(void)
{
    return co_stack_size_min();
}

int cothread_set_pool_size(unsigned n)
{
    if (n > CO_POOL_SIZE_MAX) {
        return EINVAL;
    }
    lock_initialized();
    g.pool_size = n;
    Coroutine *dropped = pool_trim_locked();
    unlock();
    stop_and_free_all(dropped);
    return 0;
}

unsigned cothread_get_pool_size(void)
{
    unsigned n;

    lock_initialized();
    n = g.pool_size;
    unlock();
    return n;
}
