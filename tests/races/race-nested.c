/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A's coroutine C1 enters C2, which enters C3,
 * which writes x; all three finish. Later thread B's coroutine, created
 * before any of them, reads x. Nesting on one thread must not reach into
 * another thread's chain.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void c3(void *opaque)
{
    x = 1;
}

static void c2(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(c3), NULL);
}

static void c1(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(c2), NULL);
}

static void reader(void *opaque)
{
    use_value(x);
}

static void thread_a(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(c1), NULL);
    step_reach(2);
}

static void thread_b(void)
{
    Coroutine *co = qemu_coroutine_create(reader);

    /* This thread's leader exists before the write, so that only the
     * nested enters and finishes lie between write and read. */
    (void)qemu_coroutine_self();
    step_reach(1);
    step_wait(2);
    qemu_coroutine_enter(co, NULL);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
