/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on v (cothread only): thread B's coroutine writes v and waits
 * in CoQueue q. Thread A's coroutine wakes it with
 * qemu_co_queue_restart_all() and reads v before it yields or finishes.
 * With stack switching the woken coroutine runs on A's thread only after
 * the waker stops, so A is ordered after the waiter's last yield only then:
 * the waker's read, before that, races with B's write. Taking the waiter
 * out of the line must not order the waker after it.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoQueue q;
int v;

static void waiter(void *opaque)
{
    v = 1;
    qemu_co_queue_wait(&q);
}

static void waker(void *opaque)
{
    qemu_co_queue_restart_all(&q);
    use_value(v);               /* the race: the waiter has not run yet */
}

static void thread_a(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(waker), NULL);
}

static void thread_b(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(waiter), NULL);
    step_reach(1);              /* the enter returned: the waiter is in q */
}

int main(void)
{
    qemu_co_queue_init(&q);
    run_pair(thread_a, thread_b);
    return 0;
}
