/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A generator: a coroutine produces the Fibonacci numbers one at a time,
 * and the caller pulls as many as it wants. The producer is written as a
 * plain loop; each qemu_coroutine_yield() hands one value to the consumer.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "qemu-coroutine.h"

struct generator {
    Coroutine *co;
    uint64_t value;
    bool done;
};

static void coroutine_fn fibonacci(void *opaque)
{
    struct generator *gen = opaque;
    uint64_t a = 0, b = 1;
    bool more = true;

    while (more) {
        gen->value = a;
        qemu_coroutine_yield();
        more = b >= a;          /* b wrapped around: the last sum overflowed */
        uint64_t next = a + b;  /* unsigned, so an overflow wraps harmlessly */
        a = b;
        b = next;
    }
    gen->done = true;
}

static bool generator_next(struct generator *gen, uint64_t *out)
{
    qemu_coroutine_enter(gen->co, gen);
    *out = gen->value;
    return !gen->done;
}

int main(void)
{
    struct generator gen = { .co = qemu_coroutine_create(fibonacci) };
    uint64_t value;
    int count = 0;

    printf("First Fibonacci numbers, produced by a coroutine:\n");
    while (count < 15 && generator_next(&gen, &value)) {
        printf("%s%" PRIu64, count ? ", " : "  ", value);
        count++;
    }
    printf("\n");

    /* Drain the rest: the generator stops after the last value that fits. */
    while (generator_next(&gen, &value)) {
        count++;
    }
    printf("The generator finished after %d values that fit in 64 bits.\n", count);
    return 0;
}
