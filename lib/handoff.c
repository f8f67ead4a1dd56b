/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Passing control between threads: every switch posts an action to the
 * baton of the thread that runs next and waits on the baton of the thread
 * that stops (coroutine-int.h). The baton's mutex is the only thing the
 * two sides share, so the tools see exactly one edge per switch.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <time.h>

#include "coroutine-int.h"

_Thread_local jmp_buf *co_stop_target;

/* The condition variable's deadlines count on CO_BATON_CLOCK, which a
 * change of the wall clock does not move. 0, or the error of the call
 * named in *call. */
static int cond_init(pthread_cond_t *cond, const char **call)
{
    pthread_condattr_t attr;
    int err = pthread_condattr_init(&attr);

    if (err != 0) {
        *call = "pthread_condattr_init";
        return err;
    }
#ifdef HAVE_PTHREAD_CONDATTR_SETCLOCK
    CO_PTHREAD(pthread_condattr_setclock(&attr, CO_BATON_CLOCK));
#endif
    err = pthread_cond_init(cond, &attr);
    *call = "pthread_cond_init";
    CO_PTHREAD(pthread_condattr_destroy(&attr));
    return err;
}

int co_baton_init(struct co_baton *baton, struct co_failure *fail)
{
    /* Each may fail in correct use (ENOMEM, EAGAIN: implementations that
     * allocate kernel or heap objects for them), so the caller can report
     * it instead of stopping. */
    int err = pthread_mutex_init(&baton->lock, NULL);

    if (err != 0) {
        fail->err = err;
        fail->call = "pthread_mutex_init";
        return err;
    }
    err = cond_init(&baton->cond, &fail->call);
    if (err != 0) {
        CO_PTHREAD(pthread_mutex_destroy(&baton->lock));
        fail->err = err;
        return err;
    }
    baton->action = CO_ACT_NONE;
    atomic_init(&baton->signalling, 0);
    /* helgrind and DRD follow the mutex and the condition variable through
     * their pthread wrappers; the bytes inside belong to libc, which writes
     * them around the points where the tools record the synchronisation
     * (the owner word after an unlock's release, say). The predicate is
     * only touched under the mutex, but its first reader may be a thread
     * that nothing orders after this initialisation (one the spawner
     * started): the edge that matters is the post's, which the mutex
     * carries. */
    co_unchecked(baton, sizeof(*baton));
    return 0;
}

void co_baton_destroy(struct co_baton *baton)
{
    /* A poster that signals after its unlock may still be on its way to
     * the signal: the baton must outlive it. The wait is short, but the
     * poster may have a lower real-time priority than this thread on the
     * same CPU, which sched_yield() would never let it run: after a few
     * tries, sleep. */
    for (unsigned tries = 0;
         atomic_load_explicit(&baton->signalling, memory_order_acquire) != 0;
         tries++) {
        if (tries < 64) {
            sched_yield();
        } else {
            struct timespec pause = { 0, 100 * 1000 };
            nanosleep(&pause, NULL);
        }
    }
    CO_PTHREAD(pthread_cond_destroy(&baton->cond));
    CO_PTHREAD(pthread_mutex_destroy(&baton->lock));
}

void co_baton_after_fork(struct co_baton *baton)
{
    const char *call;
    int err;

    if (atomic_load_explicit(&baton->signalling, memory_order_relaxed) == 0) {
        return;
    }
    /* The poster may have been inside pthread_cond_signal(), holding the
     * condition variable's internal lock, which nobody would release in the
     * child: start it afresh (nothing waits on it here). */
    atomic_store_explicit(&baton->signalling, 0, memory_order_relaxed);
    err = cond_init(&baton->cond, &call);
    if (err != 0) {
        co_die_failed("fork", "cannot renew the forking thread's condition variable",
                      call, err);
    }
}

static const struct co_wakeups no_wakeups;

/*
 * Where to signal. A signal made while holding the mutex wakes a thread
 * that then finds the mutex still held: on one CPU it preempts the poster,
 * sleeps on the mutex and is woken again by the unlock, two more switches
 * and two more calls into the kernel per handoff. So the post signals after
 * its unlock, and co_baton_destroy() waits for posters still on their way
 * to the signal. helgrind and DRD call a signal without the mutex dubious
 * (and report it), so under them it stays inside; the edge they see, the
 * mutex's, is the same either way. So it does under ThreadSanitizer: with
 * the library not instrumented, it cannot see the count that keeps the
 * destroy after the signal, and would report the two as a race.
 */
void co_baton_post(struct co_baton *to, enum co_action act,
                   const struct co_wakeups *wakeups)
{
    CO_PTHREAD(pthread_mutex_lock(&to->lock));
    assert(to->action == CO_ACT_NONE);
    to->action = act;
    to->errno_value = errno;
    to->wakeups = wakeups != NULL ? *wakeups : no_wakeups;
    /* Natively this asks nothing of the system: a few instructions. */
    if (co_under_helgrind_or_drd() || co_under_tsan()) {
        CO_PTHREAD(pthread_cond_signal(&to->cond));
        CO_PTHREAD(pthread_mutex_unlock(&to->lock));
        return;
    }
    /* Counted under the mutex: whoever takes the post, and so whoever may
     * destroy the baton after it, sees the count. */
    atomic_fetch_add_explicit(&to->signalling, 1, memory_order_relaxed);
    CO_PTHREAD(pthread_mutex_unlock(&to->lock));
    CO_PTHREAD(pthread_cond_signal(&to->cond));
    atomic_fetch_sub_explicit(&to->signalling, 1, memory_order_release);
}

/* The baton this thread waits on, for a signal handler that interrupts the
 * wait and calls exit(): volatile, as the handler reads it. */
static _Thread_local struct co_baton *volatile waiting_on;

bool co_baton_waited_on_here(const struct co_baton *baton)
{
    return waiting_on == baton;
}

/* deadline NULL: no deadline. */
static enum co_action wait_for_post(struct co_baton *self, struct co_wakeups *wakeups,
                                    const struct timespec *deadline)
{
    enum co_action act;
    int errno_value;
    struct co_wakeups received;

    waiting_on = self;
    CO_PTHREAD(pthread_mutex_lock(&self->lock));
    while (self->action == CO_ACT_NONE) {
        if (deadline == NULL) {
            CO_PTHREAD(pthread_cond_wait(&self->cond, &self->lock));
            continue;
        }
        int err = pthread_cond_timedwait(&self->cond, &self->lock, deadline);
        if (err == ETIMEDOUT && self->action == CO_ACT_NONE) {
            CO_PTHREAD(pthread_mutex_unlock(&self->lock));
            waiting_on = NULL;
            return CO_ACT_NONE;
        }
        CO_PTHREAD(err == ETIMEDOUT ? 0 : err);
    }
    act = self->action;
    errno_value = self->errno_value;
    received = self->wakeups;
    self->action = CO_ACT_NONE;
    CO_PTHREAD(pthread_mutex_unlock(&self->lock));
    waiting_on = NULL;

    if (act == CO_ACT_STOP) {
        assert(co_stop_target != NULL);
        longjmp(*co_stop_target, CO_STOP_POSTED);
    }
    if (wakeups != NULL) {
        *wakeups = received;
    }
    errno = errno_value;
    return act;
}

enum co_action co_baton_wait(struct co_baton *self, struct co_wakeups *wakeups)
{
    return wait_for_post(self, wakeups, NULL);
}

enum co_action co_baton_wait_until(struct co_baton *self, const struct timespec *deadline)
{
    return wait_for_post(self, NULL, deadline);
}

enum co_action co_switch(struct co_baton *self, struct co_baton *to,
                         enum co_action act, struct co_wakeups *wakeups)
{
    int cancel_state;

    /* pthread_cond_wait() is a cancellation point, but a switch must not be
     * one: a thread cancelled while its coroutine runs would leave with the
     * chain half-way. The cancellation takes effect after the switch, at the
     * caller's next cancellation point, as it would on one thread. */
    CO_PTHREAD(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state));
    co_baton_post(to, act, wakeups);
    act = co_baton_wait(self, wakeups);
    CO_PTHREAD(pthread_setcancelstate(cancel_state, NULL));
    return act;
}
