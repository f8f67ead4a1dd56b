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
};

static pthread_key_t leader_key;    /* frees a thread's leader at its exit */

static bool is_leader(const Coroutine *co)
{
    return co->worker == NULL;
}

static void leader_free(void *object)
{
    struct co_leader *leader = object;

    co_baton_destroy(&leader->baton);
    free(leader);
    co_current = NULL;
}

void co_leaders_init(void)
{
    CO_PTHREAD(pthread_key_create(&leader_key, leader_free));
}

void co_leader_exit(void)
{
    if (co_current != NULL && is_leader(co_current)) {
        CO_PTHREAD(pthread_setspecific(leader_key, NULL));
        leader_free(co_current);
    }
}

/* The leader is made on a thread's first use of the library, with nothing
 * shared: a thread's first call must not order it after another's. */
static Coroutine *leader_get(void)
{
    struct co_leader *leader;

    if (co_current != NULL) {
        return co_current;
    }
    if (!co_process_loaded) {
        co_die("coroutine backend", "the library's load hook did not run "
               "(a static link without lib/process.c's object?)");
    }
    /* Every first use reads the environment, so a bad setting stops the
     * program before anything has run. */
    (void)co_settings_pool_size();
    leader = calloc(1, sizeof(*leader));
    CO_MISUSE_IF(leader == NULL, "qemu_coroutine_self",
                 "out of memory allocating the thread's leader coroutine");
    atomic_init(&leader->co.state, CO_RUNNING);
    co_baton_init(&leader->baton);
    leader->co.baton = &leader->baton;
    CO_PTHREAD(pthread_setspecific(leader_key, leader));
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

static Coroutine *create(CoroutineEntry *entry, int *err)
{
    struct co_worker *w = co_worker_get(err);
    Coroutine *co;

    if (w == NULL) {
        return NULL;
    }
    co = &w->co;
    /* The tools see the state word only through the annotations. */
    co_unchecked(&co->state, sizeof(co->state));
    co->entry = entry;
    co->entry_arg = NULL;
    co->caller = NULL;
    co->baton = &w->baton;
    co->worker = w;
    atomic_store_explicit(&co->state, CO_CREATED, memory_order_relaxed);
    return co;
}

Coroutine *cothread_try_create(CoroutineEntry *entry)
{
    int err = EINVAL;
    Coroutine *co = entry ? create(entry, &err) : NULL;

    if (co == NULL) {
        errno = err;
    }
    return co;
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    int err;
    Coroutine *co;

    CO_MISUSE_IF(entry == NULL, "qemu_coroutine_create",
                 "NULL entry function for a coroutine");
    co = create(entry, &err);
    if (co == NULL) {
        char problem[320];
        snprintf(problem, sizeof(problem),
                 "cannot create a coroutine thread: %s (%zu coroutines alive); "
                 "lower COTHREAD_STACK_SIZE or raise the process's thread limits",
                 strerror(err), co_workers_live());
        co_die("qemu_coroutine_create", problem);
    }
    return co;
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    static const char fn[] = "qemu_coroutine_enter";
    Coroutine *self = leader_get();

    CO_MISUSE_IF(co == NULL, fn, "NULL coroutine");
    CO_MISUSE_IF(is_leader(co), fn,
                 "cannot enter a thread's leader (the value of "
                 "qemu_coroutine_self() outside a coroutine)");
    check_not_forked(fn);
    CO_MISUSE_IF(co_worker_is_stale(co->worker), fn,
                 "coroutine was created before fork() and its thread does not "
                 "exist in this process");

    if (claim(co, self) == CO_CREATED) {
        co->entry_arg = opaque;
    }
    co->caller = self;
    if (co_switch(self->baton, co->baton, CO_ACT_ENTER) == CO_ACT_FINISH) {
        /* co's thread touches nothing of co after posting CO_ACT_FINISH. */
        co_worker_put(co->worker);
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    static const char fn[] = "qemu_coroutine_yield";
    Coroutine *self = co_current;
    Coroutine *to;

    CO_MISUSE_IF(self == NULL || is_leader(self), fn, "called outside a coroutine");
    check_not_forked(fn);

    /* Read caller before publishing the new state: once CO_SUSPENDED is
     * visible, another thread may enter us and overwrite it. */
    to = self->caller;
    self->caller = NULL;
    co_happens_before(&self->state);
    atomic_store_explicit(&self->state, CO_SUSPENDED, memory_order_release);
    enum co_action act = co_switch(self->baton, to->baton, CO_ACT_YIELD);
    /* Not a tail call, so debuggers show qemu_coroutine_yield in the
     * backtrace of every suspended coroutine. */
    assert(act == CO_ACT_ENTER);
    (void)act;
}

void co_run(Coroutine *co)
{
    Coroutine *to;

    co_current = co;
    co->entry(co->entry_arg);

    check_not_forked("coroutine return");
    to = co->caller;
    co->caller = NULL;
    atomic_store_explicit(&co->state, CO_FINISHED, memory_order_relaxed);
    co_baton_post(to->baton, CO_ACT_FINISH);
}

bool co_claim_for_exit(Coroutine *co, const Coroutine *self)
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

void co_after_fork_child(void)
{
    if (co_current != NULL && !is_leader(co_current)) {
        co_forked_in_coroutine = true;
    }
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
    return atomic_load_explicit(&co->state, memory_order_relaxed) == CO_RUNNING;
}
