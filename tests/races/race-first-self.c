/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A writes x, then calls qemu_coroutine_self() for
 * the first time; later thread B does its first qemu_coroutine_self() and
 * reads x. Giving each thread its leader must not order the threads.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void thread_a(void)
{
    x = 1;
    (void)qemu_coroutine_self();
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    (void)qemu_coroutine_self();
    use_value(x);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
