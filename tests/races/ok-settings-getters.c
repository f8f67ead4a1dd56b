/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: the settings getters and setters, qemu_coroutine_self(),
 * qemu_in_coroutine() and qemu_coroutine_entered() called by three threads
 * at once, inside and outside coroutines. Nothing shared but the library:
 * every tool must stay silent.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static void body(void *opaque)
{
    for (int i = 0; i < 50; i++) {
        use_value((int)cothread_get_stack_size());
        use_value((int)cothread_get_pool_size());
        use_value(qemu_in_coroutine());
        use_value(qemu_coroutine_self() != NULL);
        qemu_coroutine_yield();
    }
}

static void setter(void)
{
    Coroutine *co = qemu_coroutine_create(body);
    for (int i = 0; i < 50; i++) {
        check(cothread_set_stack_size((i % 2 ? 2 : 1) << 20) == 0, "set stack");
        check(cothread_set_pool_size(0) == 0, "set pool");
        qemu_coroutine_enter(co, NULL);
    }
    qemu_coroutine_enter(co, NULL);
}

static void getter(void)
{
    Coroutine *co = qemu_coroutine_create(body);
    for (int i = 0; i < 50; i++) {
        use_value((int)cothread_get_stack_size());
        use_value((int)cothread_stack_size_min());
        use_value((int)cothread_get_pool_size());
        use_value(qemu_coroutine_entered(qemu_coroutine_self()));
        qemu_coroutine_enter(co, NULL);
        use_value(qemu_coroutine_entered(co));
    }
    qemu_coroutine_enter(co, NULL);
}

int main(void)
{
    run_threads((race_fn *const[]){ setter, getter, getter }, 3);
    return 0;
}
