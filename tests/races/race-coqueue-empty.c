/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on z (cothread only): thread B writes z and asks whether
 * CoQueue q is empty; later thread A asks the same and reads z. Asking
 * changes nothing and nobody waits in q: with stack switching (QEMU's
 * CoQueue is a plain list) two reads of the same list order nothing, so
 * the write and the read race. The query must not order the two threads.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoQueue q;
int z;

static void thread_a(void)
{
    step_wait(1);
    check(qemu_co_queue_empty(&q), "nobody waits");
    use_value(z);               /* the race */
}

static void thread_b(void)
{
    z = 1;
    check(qemu_co_queue_empty(&q), "nobody waits");
    step_reach(1);
}

int main(void)
{
    qemu_co_queue_init(&q);
    run_pair(thread_a, thread_b);
    return 0;
}
