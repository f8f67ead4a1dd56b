/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The core: the public coroutine calls, their state checks, the leaders
 * (one per application thread) and the bookkeeping of who entered whom.
 * Threads and the pool are worker.c's business, moving control is
 * handoff.c's.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine-int.h"

_Thread_local Coroutine *co_current;
bool co_forked_in_coroutine;

/* A leader waits on a baton of its own, like a worker. */
struct co_leader {
    Coroutine co;
    struct co_baton baton;
    struct co_leader *next_left;    /* in left_waiting */
};

/* Leaders whose thread ended inside a wait on their baton (see
 * leader_free), kept reachable so that memcheck does not call them lost. */
static _Atomic(struct co_leader *) left_waiting;

static pthread_key_t leader_key;    /* frees a thread's leader at its exit */

static bool is_leader(const Coroutine *co)
{
    return co->worker == NULL;
}

static void leader_free(struct co_leader *leader)
{
    /* exit() (or pthread_exit()) from a signal handler that interrupted
     * the thread's wait for its coroutine: the wait still holds the baton,
     * and destroying it would wait for ever. The thread ends with it. */
    if (co_baton_waited_on_here(&leader->baton)) {
        leader->next_left = atomic_exchange(&left_waiting, leader);
        return;
    }
    co_baton_destroy(&leader->baton);
    free(leader);
    co_current = NULL;
}

/* The key's destructor, at the thread's exit. The exit hook may have freed
 * the leader already (exit() then ran a key destructor after it): co_current
 * tells, without touching the stale value, and without a call that could
 * fail to clear the key. */
static void leader_destructor(void *object)
{
    if (co_current != NULL) {
        leader_free(object);
    }
}

/* The leader is made on a thread's first use of the library, with nothing
 * shared: a thread's first call must not order it after another's. */
static Coroutine *leader_get(void)
{
    static const char fn[] = "qemu_coroutine_self";
    static const char what[] = "cannot make the thread's leader coroutine";
    struct co_leader *leader;
    struct co_failure fail;
    int err;

    if (co_current != NULL) {
        return co_current;
    }
    /* Every first use reads the environment, so a bad setting stops the
     * program before anything has run. */
    (void)co_settings_pool_size();
    /* Each step may fail in correct use, and none of the calls that get
     * here can return an error: a failure stops with its reason. */
    leader = calloc(1, sizeof(*leader));
    if (leader == NULL) {
        co_die_failed(fn, what, "calloc", ENOMEM);
    }
    atomic_init(&leader->co.state, CO_RUNNING);
    if (co_baton_init(&leader->baton, &fail) != 0) {
        co_die_failed(fn, what, fail.call, fail.err);
    }
    leader->co.baton = &leader->baton;
    err = pthread_setspecific(leader_key, leader);
    if (err != 0) {
        co_die_failed(fn, what, "pthread_setspecific", err);
    }
    co_current = &leader->co;
    return co_current;
}

static bool in_chain(const Coroutine *self, const Coroutine *co)
{
    for (const Coroutine *p = self; p != NULL; p = p->caller) {
        if (p == co) {
            return true;
        }
    }
    return false;
}

static void check_not_forked(const char *func)
{
    CO_MISUSE_IF(co_forked_in_coroutine, func,
                 "coroutine switch in a child process forked inside a coroutine "
                 "(the threads it would switch to do not exist in the child)");
}

/*
 * Moves co to CO_RUNNING; returns the state it had (created or suspended).
 * Resuming a suspended coroutine follows its last yield, wherever that
 * ran: the compare-and-swap acquires what the yield released, and the
 * annotation says so to the tools that do not model C11 atomics.
 */
static int claim(Coroutine *co, const Coroutine *self)
{
    static const char fn[] = "qemu_coroutine_enter";
    int seen = atomic_load_explicit(&co->state, memory_order_relaxed);

    if ((seen == CO_CREATED || seen == CO_SUSPENDED) &&
        atomic_compare_exchange_strong_explicit(&co->state, &seen, CO_RUNNING,
                                                memory_order_acquire,
                                                memory_order_relaxed)) {
        if (seen == CO_SUSPENDED) {
            co_happens_after(&co->state);
        }
        return seen;
    }
    switch (seen) {
    case CO_RUNNING:
        CO_MISUSE_IF(in_chain(self, co), fn,
                     "coroutine re-entered while it is running (it is the "
                     "current coroutine or one of its callers)");
        co_die(fn, "coroutine is already running: another thread entered it "
                   "at the same time");
    case CO_STOPPED:
        co_die(fn, "coroutine entered while the process is exiting");
    default:
        co_die(fn, "coroutine has already finished (its handle is no longer "
                   "valid)");
    }
}

static Coroutine *create(CoroutineEntry *entry, struct co_failure *fail)
{
    struct co_worker *w = co_worker_get(fail);
    Coroutine *co;

    if (w == NULL) {
        return NULL;
    }
    co = &w->co;
    /* The misuse checks of an enter read the state words, and the fields
     * that never change once the handle is out, before the claim that
     * orders the enterer: the tools see the state words only through the
     * annotations, and the immutable fields not at all. */
    co_unchecked(&co->state, sizeof(co->state));
    co_unchecked(&co->wait_state, sizeof(co->wait_state));
    co_unchecked(&co->worker, sizeof(co->worker));
    co_unchecked(&co->baton, sizeof(co->baton));
    /* Bookkeeping of the coroutine locks' lines, which cross threads
     * behind the objects' quiet locks. */
    co_unchecked(&co->wait_next, sizeof(co->wait_next));
    co_unchecked(&co->wait_write, sizeof(co->wait_write));
    co->entry = entry;
    co->entry_arg = NULL;
    co->caller = NULL;
    co->baton = &w->baton;
    co->worker = w;
    co_set_next(co, NULL);
    co->woken.head = co->woken.tail = NULL;
    co->held_count = 0;         /* held: kept for reuse */
    atomic_store_explicit(&co->wait_state, CO_WAIT_NONE, memory_order_relaxed);
    atomic_store_explicit(&co->state, CO_CREATED, memory_order_relaxed);
    return co;
}

Coroutine *cothread_try_create(CoroutineEntry *entry)
{
    struct co_failure fail = { EINVAL, NULL };
    Coroutine *co = entry ? create(entry, &fail) : NULL;

    if (co == NULL) {
        errno = fail.err;
    }
    return co;
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    struct co_failure fail;
    Coroutine *co;

    CO_MISUSE_IF(entry == NULL, "qemu_coroutine_create",
                 "NULL entry function for a coroutine");
    co = create(entry, &fail);
    if (co == NULL) {
        char problem[384];
        snprintf(problem, sizeof(problem),
                 "cannot create a coroutine thread: %s failed: %s (%zu coroutines "
                 "alive); lower COTHREAD_STACK_SIZE or raise the process's thread "
                 "limits", fail.call, strerror(fail.err), co_workers_live());
        co_die("qemu_coroutine_create", problem);
    }
    return co;
}

/* A woken coroutine may still be on its way into its wait on another
 * thread (between joining a line and its yield): wait until it is there.
 * It does nothing else before yielding, so this is a short wait. */
static void wait_until_suspended(Coroutine *co)
{
    while (atomic_load_explicit(&co->state, memory_order_relaxed) == CO_RUNNING) {
        sched_yield();
    }
}

/* Puts the wake-ups that came with a switch in front of the pending ones:
 * what a coroutine woke runs before what was woken earlier. */
static Coroutine *prepend(Coroutine *pending, const struct co_wakeups *woken)
{
    if (woken->head == NULL) {
        return pending;
    }
    co_set_next(woken->tail, pending);
    return woken->head;
}

/*
 * Enters co, then every coroutine woken by what ran, until none is left:
 * a loop, so chains of wake-ups of any length take no stack. The first is
 * a woken one when a wake-up comes from outside coroutines.
 */
static void run(Coroutine *self, Coroutine *co, void *opaque, bool woken)
{
    static const char fn[] = "qemu_coroutine_enter";
    Coroutine *pending = NULL;
    Coroutine *to = co;

    for (;;) {
        struct co_wakeups received = { NULL, NULL };
        bool stale;

        check_not_forked(fn);
        /* A woken coroutine's immutable fields, read before the claim by
         * a thread the tools see ordered after nothing of its creator. */
        co_unseen_begin();
        stale = co_worker_is_stale(to->worker);
        co_unseen_end();
        CO_MISUSE_IF(stale, fn, "coroutine was created before fork() and its thread "
                                "does not exist in this process");
        if (woken) {
            atomic_store_explicit(&to->wait_state, CO_WAIT_NONE, memory_order_relaxed);
            wait_until_suspended(to);
        }
        /* Nothing of to but its immutable fields is read before the claim:
         * a resume from another thread is ordered after to's last yield
         * only from there on. */
        if (claim(to, self) == CO_CREATED) {
            to->entry_arg = opaque;
        }
        to->caller = self;
        if (co_switch(self->baton, to->baton, CO_ACT_ENTER, &received) == CO_ACT_FINISH) {
            /* to's thread touches nothing of to after posting CO_ACT_FINISH. */
            co_worker_put(to->worker);
        }
        pending = prepend(pending, &received);
        if (pending == NULL) {
            return;
        }
        to = pending;
        pending = co_next(to);
        opaque = NULL;
        woken = true;
    }
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    static const char fn[] = "qemu_coroutine_enter";
    Coroutine *self = leader_get();

    CO_MISUSE_IF(co == NULL, fn, "NULL coroutine");
    CO_MISUSE_IF(is_leader(co), fn,
                 "cannot enter a thread's leader (the value of "
                 "qemu_coroutine_self() outside a coroutine)");
    CO_MISUSE_IF(atomic_load_explicit(&co->wait_state, memory_order_relaxed) != CO_WAIT_NONE,
                 fn, "coroutine waits on a CoQueue or a coroutine lock (only a "
                     "wake-up may run it)");
    run(self, co, opaque, false);
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    CO_MISUSE_IF(co == NULL, "qemu_coroutine_enter_if_inactive", "NULL coroutine");
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co, NULL);
    }
}

/* Hands over what the running coroutine woke: it travels with the switch. */
static struct co_wakeups take_woken(Coroutine *self)
{
    struct co_wakeups woken = self->woken;

    self->woken.head = self->woken.tail = NULL;
    return woken;
}

void coroutine_fn qemu_coroutine_yield(void)
{
    static const char fn[] = "qemu_coroutine_yield";
    Coroutine *self = co_current;
    Coroutine *to;
    struct co_wakeups woken;

    CO_MISUSE_IF(self == NULL || is_leader(self), fn, "called outside a coroutine");
    check_not_forked(fn);

    /* Read caller before publishing the new state: once CO_SUSPENDED is
     * visible, another thread may enter us and overwrite it. */
    to = self->caller;
    self->caller = NULL;
    woken = take_woken(self);
    co_happens_before(&self->state);
    atomic_store_explicit(&self->state, CO_SUSPENDED, memory_order_release);
    enum co_action act = co_switch(self->baton, to->baton, CO_ACT_YIELD, &woken);
    /* Not a tail call, so debuggers show qemu_coroutine_yield in the
     * backtrace of every suspended coroutine. */
    assert(act == CO_ACT_ENTER);
    (void)act;
}

/* Whether co holds a CoRwlock (rwlock) or a CoMutex. */
static bool holds_a(const Coroutine *co, bool rwlock)
{
    for (unsigned i = 0; i < co->held_count; i++) {
        if (co->held[i].rwlock == rwlock) {
            return true;
        }
    }
    return false;
}

/* Runs co's body on its worker thread and posts CO_ACT_FINISH to its last
 * enterer; the worker touches nothing of co afterwards. */

static void co_run(Coroutine *co)
{
    Coroutine *to;
    struct co_wakeups woken;

    co_current = co;
    /* The body is where a cancellation of this thread may land (and is then
     * caught as misuse). Outside it, in the checks below and in the wait
     * for the next coroutine, cancellation stays off; it goes off again
     * before the finish is posted, while this thread still has control. */
    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL));
    co->entry(co->entry_arg);
    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL));

    check_not_forked("coroutine return");
    CO_MISUSE_IF(holds_a(co, false), "coroutine return",
                 "coroutine finished while holding a CoMutex");
    CO_MISUSE_IF(holds_a(co, true), "coroutine return",
                 "coroutine finished while holding a CoRwlock");
    to = co->caller;
    co->caller = NULL;
    woken = take_woken(co);
    atomic_store_explicit(&co->state, CO_FINISHED, memory_order_relaxed);
    co_baton_post(to->baton, CO_ACT_FINISH, &woken);
}

Coroutine *co_self_in_coroutine(const char *func)
{
    CO_MISUSE_IF(!qemu_in_coroutine(), func, "called outside a coroutine");
    return co_current;
}

void co_wake(Coroutine *co)
{
    Coroutine *self = co_current;

    atomic_store_explicit(&co->wait_state, CO_WAIT_WOKEN, memory_order_relaxed);
    co_set_next(co, NULL);
    if (self != NULL && !is_leader(self)) {
        if (self->woken.tail != NULL) {
            co_set_next(self->woken.tail, co);
        } else {
            self->woken.head = co;
        }
        self->woken.tail = co;
        return;
    }
    run(leader_get(), co, NULL, true);
}

static bool claim_for_exit(Coroutine *co, const Coroutine *self)
{
    int state = atomic_load_explicit(&co->state, memory_order_relaxed);

    if (co == self) {
        return false;
    }
    switch (state) {
    case CO_CREATED:
    case CO_SUSPENDED:
        return atomic_compare_exchange_strong(&co->state, &state, CO_STOPPED);
    case CO_RUNNING:
        return in_chain(self, co);
    default:
        return false;
    }
}

/*
 * Process exit. Suspended and never-entered coroutines are abandoned as
 * stack switching would abandon them, but their threads are unwound (a
 * jump back to the worker's start) and joined, so that no tool reports a
 * leak. When exit() is called inside a coroutine, the coroutines waiting on
 * it in its chain of enters are parked too and get the same treatment.
 * Coroutines running in other threads' chains cannot be stopped safely and
 * are left alone.
 */
static void on_exit_stop(void)
{
    co_workers_stop_for_exit(claim_for_exit, co_current);
    if (co_current != NULL && is_leader(co_current)) {
        /* A leader's Coroutine is the first member of its co_leader, whose
         * alignment may be stricter (armhf): through void *, as the key
         * destructor gets it. */
        leader_free((void *)co_current);
    }
}

/* If the fork happened inside a coroutine, the child's only thread is that
 * coroutine's, and it has nobody to switch to. */
static void on_fork_child(void)
{
    if (co_current != NULL) {
        co_baton_after_fork(co_current->baton);
    }
    if (co_current != NULL && !is_leader(co_current)) {
        co_forked_in_coroutine = true;
    }
}

__attribute__((constructor)) static void core_load(void)
{
    static const struct co_process_hooks hooks = {
        .fork_child = on_fork_child,
        .exit = on_exit_stop,
    };

    /* POSIX lets it fail (EAGAIN: no key left, ENOMEM); nothing can report
     * an error from a constructor, and the library needs the key. */
    int err = pthread_key_create(&leader_key, leader_destructor);

    if (err != 0) {
        co_die_failed("library load", "cannot create the leaders' thread key",
                      "pthread_key_create", err);
    }
    co_workers_run_with(co_run);
    co_process_watch(CO_STAGE_CORE, &hooks);
}

Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return leader_get();
}

bool qemu_in_coroutine(void)
{
    return co_current != NULL && !is_leader(co_current);
}

bool qemu_coroutine_entered(Coroutine *co)
{
    CO_MISUSE_IF(co == NULL, "qemu_coroutine_entered", "NULL coroutine");
    /* Relaxed: asking orders the caller after nothing, as reading a field
     * of a stack-switching coroutine would. */
    return !is_leader(co) &&
           atomic_load_explicit(&co->state, memory_order_relaxed) == CO_RUNNING;
}
