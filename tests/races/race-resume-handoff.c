/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread T1 runs coroutine C until it yields, hands C to
 * thread T2 through a mutex-protected slot, and only then writes x. T2
 * resumes C, which reads x. The handoff orders T1's past up to the handoff
 * before C's continuation, but not the write that follows it.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static Coroutine *slot;

static void body(void *opaque)
{
    qemu_coroutine_yield();
    use_value(x);
}

static void thread_t1(void)
{
    Coroutine *co = qemu_coroutine_create(body);

    qemu_coroutine_enter(co, NULL);
    pthread_mutex_lock(&slot_lock);
    slot = co;
    pthread_mutex_unlock(&slot_lock);
    x = 1;
    step_reach(1);
}

static void thread_t2(void)
{
    Coroutine *co;

    step_wait(1);
    pthread_mutex_lock(&slot_lock);
    co = slot;
    pthread_mutex_unlock(&slot_lock);
    qemu_coroutine_enter(co, NULL);
}

int main(void)
{
    run_pair(thread_t1, thread_t2);
    return 0;
}
