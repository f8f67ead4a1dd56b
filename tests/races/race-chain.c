/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x: two chains of enters, one per thread. Thread A's
 * coroutine is entered and suspended several times and writes x on its
 * third run; later thread B's coroutine reads x. Both coroutines exist
 * before either runs, so only enters and yields lie between the accesses.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

int x;

static void writer(void *opaque)
{
    qemu_coroutine_yield();
    qemu_coroutine_yield();
    x = 1;
    qemu_coroutine_yield();
}

static void reader(void *opaque)
{
    qemu_coroutine_yield();
    use_value(x);
}

static void thread_a(void)
{
    Coroutine *co;

    step_wait(1);
    co = qemu_coroutine_create(writer);
    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(co, NULL);
    }
    step_reach(2);
    step_wait(3);
    qemu_coroutine_enter(co, NULL);
}

static void thread_b(void)
{
    Coroutine *co = qemu_coroutine_create(reader);

    qemu_coroutine_enter(co, NULL);
    step_reach(1);
    step_wait(2);
    qemu_coroutine_enter(co, NULL);
    step_reach(3);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
