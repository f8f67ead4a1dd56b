/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A writes x in plain code, then creates and runs
 * a coroutine; later thread B creates and runs a coroutine of its own, then
 * reads x in plain code. Using coroutines on two threads must not order the
 * threads.
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
    qemu_coroutine_enter(qemu_coroutine_create(nothing), NULL);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(nothing), NULL);
    use_value(x);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
