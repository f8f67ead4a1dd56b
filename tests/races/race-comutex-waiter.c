/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on y (cothread only; plain-mutex-waiter.c is the pthread
 * counterpart): thread A's coroutine holds CoMutex m; thread B's coroutine
 * writes y, then waits for m. A's coroutine unlocks m and reads y. Only
 * the unlock orders anything (A's unlock before B's acquisition), so B's
 * write and A's read are unordered: with a pthread mutex every tool reports
 * them. Queueing for the lock must not order the waiter before the holder.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoMutex m;
int y;

static void holder(void *opaque)
{
    qemu_co_mutex_lock(&m);
    step_reach(1);
    step_wait(2);               /* B's coroutine waits for m by now */
    qemu_co_mutex_unlock(&m);
    use_value(y);               /* the race: B wrote y before it waited */
}

static void waiter(void *opaque)
{
    y = 1;
    qemu_co_mutex_lock(&m);
    qemu_co_mutex_unlock(&m);
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(holder), NULL);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(waiter), NULL);
    step_reach(2);              /* the enter returned: the waiter is in line */
}

int main(void)
{
    qemu_co_mutex_init(&m);
    run_pair(thread_a, thread_b);
    return 0;
}
