/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: data passed both ways across enter, yield and finish. Every
 * access is ordered by a switch, so no tool may report anything.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static int to_co;
static int from_co;

static void body(void *opaque)
{
    int *start = opaque;

    from_co = *start + to_co;
    qemu_coroutine_yield();
    from_co = to_co * 2;
    qemu_coroutine_yield();
    from_co = -to_co;
}

int main(void)
{
    int start = 5;
    Coroutine *co = qemu_coroutine_create(body);

    to_co = 1;
    qemu_coroutine_enter(co, &start);
    check(from_co == 6, "value from the first run");
    to_co = 10;
    qemu_coroutine_enter(co, NULL);
    check(from_co == 20, "value from the second run");
    to_co = 3;
    qemu_coroutine_enter(co, NULL);
    check(from_co == -3, "value from the finish");
    return 0;
}
