/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x under churn: two threads each create, enter and finish
 * many coroutines. At one fixed round thread A's coroutine writes x, and
 * B's coroutine of the same round, which runs later, reads it. Whatever the
 * library recycles between rounds must not order the two.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

#define ROUNDS 200
#define SEEDED 100

int x;

static void nothing(void *opaque)
{
}

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
    for (int i = 0; i < ROUNDS; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(i == SEEDED ? writer : nothing), NULL);
        if (i == SEEDED) {
            step_reach(1);
        }
    }
}

static void thread_b(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        if (i == SEEDED) {
            step_wait(1);
        }
        qemu_coroutine_enter(qemu_coroutine_create(i == SEEDED ? reader : nothing), NULL);
    }
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
