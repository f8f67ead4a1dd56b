/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The backend-neutral core: the public calls, their state checks and the
 * bookkeeping of who entered whom. How control actually moves between
 * threads is coroutine-thread.c's business.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coroutine-int.h"

_Thread_local Coroutine *co_current;

void co_die(const char *func, const char *problem)
{
    /* No stdio: after fork() in a threaded process its locks may be held. */
    char line[512];
    int len = snprintf(line, sizeof(line), "cothread: %s: %s\n", func, problem);
    size_t left = len < 0 ? 0 : (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
    const char *p = line;

    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    abort();
}

void co_pthread_check(int err, const char *what)
{
    if (err != 0) {
        char problem[256];
        snprintf(problem, sizeof(problem), "internal error: %s failed: %s", what,
                 strerror(err));
        co_die("coroutine backend", problem);
    }
}

static Coroutine *leader_get(void)
{
    Coroutine *self = co_current;

    if (self == NULL) {
        self = calloc(1, sizeof(*self));
        CO_MISUSE_IF(self == NULL, "qemu_coroutine_self",
                     "out of memory allocating the thread's leader coroutine");
        self->is_leader = true;
        atomic_init(&self->state, CO_RUNNING);
        co_baton_init(&self->baton);
        co_leader_register(self);
        co_current = self;
    }
    return self;
}

bool co_in_chain(const Coroutine *self, const Coroutine *co)
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

/* Moves co to CO_RUNNING; returns the state it had (created or suspended). */
static int claim(Coroutine *co, const Coroutine *self)
{
    static const char fn[] = "qemu_coroutine_enter";
    int seen = atomic_load_explicit(&co->state, memory_order_acquire);

    if ((seen == CO_CREATED || seen == CO_SUSPENDED) &&
        atomic_compare_exchange_strong(&co->state, &seen, CO_RUNNING)) {
        return seen;
    }
    switch (seen) {
    case CO_RUNNING:
        CO_MISUSE_IF(co_in_chain(self, co), fn,
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

Coroutine *cothread_try_create(CoroutineEntry *entry)
{
    int err = EINVAL;
    Coroutine *co = entry ? co_thread_create(entry, &err) : NULL;

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
    co = co_thread_create(entry, &err);
    if (co == NULL) {
        char problem[320];
        snprintf(problem, sizeof(problem),
                 "cannot create a coroutine thread: %s (%zu coroutines alive); "
                 "lower COTHREAD_STACK_SIZE or raise the process's thread limits",
                 strerror(err), co_live_count());
        co_die("qemu_coroutine_create", problem);
    }
    return co;
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    static const char fn[] = "qemu_coroutine_enter";
    Coroutine *self = leader_get();

    CO_MISUSE_IF(co == NULL, fn, "NULL coroutine");
    CO_MISUSE_IF(co->is_leader, fn,
                 "cannot enter a thread's leader (the value of "
                 "qemu_coroutine_self() outside a coroutine)");
    check_not_forked(fn);
    CO_MISUSE_IF(co->fork_generation != co_fork_generation, fn,
                 "coroutine was created before fork() and its thread does not "
                 "exist in this process");

    if (claim(co, self) == CO_CREATED) {
        co->entry_arg = opaque;
    }
    co->caller = self;
    if (co_switch(self, co, CO_ACT_ENTER) == CO_ACT_FINISH) {
        co_thread_release(co);
    }
}

void coroutine_fn qemu_coroutine_yield(void)
{
    static const char fn[] = "qemu_coroutine_yield";
    Coroutine *self = co_current;
    Coroutine *to;

    CO_MISUSE_IF(self == NULL || self->is_leader, fn, "called outside a coroutine");
    check_not_forked(fn);

    /* Read caller before publishing the new state: once CO_SUSPENDED is
     * visible, another thread may enter us and overwrite it. */
    to = self->caller;
    self->caller = NULL;
    atomic_store_explicit(&self->state, CO_SUSPENDED, memory_order_release);
    enum co_action act = co_switch(self, to, CO_ACT_YIELD);
    /* Not a tail call, so debuggers show qemu_coroutine_yield in the
     * backtrace of every suspended coroutine. */
    assert(act == CO_ACT_ENTER);
    (void)act;
}

enum co_action co_run_entry(Coroutine *co)
{
    Coroutine *to;

    co->entry(co->entry_arg);

    check_not_forked("coroutine return");
    to = co->caller;
    co->caller = NULL;
    atomic_store_explicit(&co->state, CO_FINISHED, memory_order_release);
    return co_switch(co, to, CO_ACT_FINISH);
}

Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return leader_get();
}

bool qemu_in_coroutine(void)
{
    return co_current != NULL && !co_current->is_leader;
}

bool qemu_coroutine_entered(Coroutine *co)
{
    CO_MISUSE_IF(co == NULL, "qemu_coroutine_entered", "NULL coroutine");
    return atomic_load_explicit(&co->state, memory_order_acquire) == CO_RUNNING;
}
