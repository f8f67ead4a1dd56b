/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: thread T1 runs coroutine C until it yields and hands C to thread
 * T2 through a C11 release/acquire atomic. T2 resumes C, which reads what it
 * wrote before the yield and writes a result T2 reads after enter returns.
 * helgrind and DRD do not model C11 atomics (the handle's variable is hidden
 * from them), so for them only the edge every library owes a resumer, from
 * the coroutine's last yield, orders these accesses.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static _Atomic(Coroutine *) slot;

static int before;
static int result;

static void body(void *opaque)
{
    before = 1;
    qemu_coroutine_yield();
    result = before + 1;
    qemu_coroutine_yield();
}

static void thread_t1(void)
{
    Coroutine *co = qemu_coroutine_create(body);

    qemu_coroutine_enter(co, NULL);
    atomic_store_explicit(&slot, co, memory_order_release);
}

static void thread_t2(void)
{
    Coroutine *co;

    while ((co = atomic_load_explicit(&slot, memory_order_acquire)) == NULL) {
        sched_yield();
    }
    qemu_coroutine_enter(co, NULL);
    check(result == 2, "result after the resumption");
    qemu_coroutine_enter(co, NULL);
}

int main(void)
{
    race_hide(&slot, sizeof slot);
    run_pair(thread_t1, thread_t2);
    return 0;
}
