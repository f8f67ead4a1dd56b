/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A writes x and creates a coroutine it never
 * enters; later thread B creates one too and reads x. Creation alone runs
 * nothing, so it must order nothing (the coroutines are abandoned at exit).
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void nothing(void *opaque)
{
}

static void thread_a(void)
{
    x = 1;
    (void)qemu_coroutine_create(nothing);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    (void)qemu_coroutine_create(nothing);
    use_value(x);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
