/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A's coroutine writes x; later thread B, which
 * never uses coroutines, reads x.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void writer(void *opaque)
{
    x = 1;
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(writer), NULL);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    use_value(x);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
