/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: thread A writes x, then reads and sets the stack size
 * and the pool size; later thread B does the same and reads x. The
 * tunables are the library's business and must not order the threads.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void tune(void)
{
    check(cothread_set_stack_size(cothread_get_stack_size()) == 0, "set stack size");
    check(cothread_set_pool_size(cothread_get_pool_size()) == 0, "set pool size");
}

static void thread_a(void)
{
    x = 1;
    tune();
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    tune();
    use_value(x);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
