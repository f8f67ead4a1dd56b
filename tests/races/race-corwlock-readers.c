/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Seeded race on x (cothread only; plain-rwlock-readers.c is the pthread
 * counterpart): coroutines of two threads each write x while holding
 * CoRwlock rw for reading, one after the other. A read lock excludes no
 * other reader, so nothing orders the two writes: with a pthread_rwlock
 * every tool reports them. A CoRwlock must not order its readers either.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoRwlock rw;
int x;

static void reader_writes(void *opaque)
{
    qemu_co_rwlock_rdlock(&rw);
    x = (int)(long)opaque;      /* a write under a read lock: the race */
    qemu_co_rwlock_unlock(&rw);
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(reader_writes), (void *)1);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(reader_writes), (void *)2);
}

int main(void)
{
    qemu_co_rwlock_init(&rw);
    run_pair(thread_a, thread_b);
    return 0;
}
