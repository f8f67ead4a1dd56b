/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: a generator. The coroutine yields values through a shared
 * variable and the caller consumes them until the coroutine finishes.
 */
#include "config.h"

#include <stdbool.h>

#include "qemu-coroutine.h"
#include "race-util.h"

#define COUNT 50

static int value;
static bool done;

static void generate(void *opaque)
{
    int n = *(int *)opaque;

    for (int i = 0; i < n; i++) {
        value = i;
        qemu_coroutine_yield();
    }
    done = true;
}

int main(void)
{
    int n = COUNT;
    int sum = 0;
    Coroutine *co = qemu_coroutine_create(generate);

    for (;;) {
        qemu_coroutine_enter(co, &n);
        if (done) {
            break;
        }
        sum += value;
    }
    check(sum == COUNT * (COUNT - 1) / 2, "sum of the generated values");
    return 0;
}
