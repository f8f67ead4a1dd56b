/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x (cothread only): thread A's coroutine writes x holding
 * CoRwlock w for writing and CoRwlock r for reading, then downgrades w;
 * thread B's coroutine, holding only r for reading, reads x while A's
 * still holds both for reading. Readers order nothing, so with pthread
 * rwlocks every tool reports the race. A downgrade must not make the read
 * lock on r, held across it, order the two readers.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoRwlock w, r;
int x;

static void write_then_downgrade(void *opaque)
{
    qemu_co_rwlock_wrlock(&w);
    qemu_co_rwlock_rdlock(&r);
    x = 1;
    qemu_co_rwlock_downgrade(&w);
    qemu_coroutine_yield();
    qemu_co_rwlock_unlock(&r);
    qemu_co_rwlock_unlock(&w);
}

static void read_under_r(void *opaque)
{
    qemu_co_rwlock_rdlock(&r);
    use_value(x);               /* the race */
    qemu_co_rwlock_unlock(&r);
}

static Coroutine *writer;

static void thread_a(void)
{
    writer = qemu_coroutine_create(write_then_downgrade);
    qemu_coroutine_enter(writer, NULL);
    step_reach(1);
    step_wait(2);
    qemu_coroutine_enter(writer, NULL);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(read_under_r), NULL);
    step_reach(2);
}

int main(void)
{
    qemu_co_rwlock_init(&w);
    qemu_co_rwlock_init(&r);
    run_pair(thread_a, thread_b);
    return 0;
}
