/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A's coroutine writes x and finishes; afterwards
 * thread B creates a coroutine that reads x. The two coroutines belong to
 * different chains, so with stack switching nothing orders the accesses; a
 * library that reuses A's finished thread, or takes a lock at finish and at
 * create, hides the race.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void writer(void *opaque)
{
    x = 1;
}

static void reader(void *opaque)
{
    use_value(x);
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(writer), NULL);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(reader), NULL);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
