/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct, cothread only: both threads' coroutines take CoRwlock rw before
 * CoMutex m, always. Thread A's writer downgrades rw while it holds m; a
 * downgrade never waits, so that is no acquisition of rw after m and no
 * lock-order inversion. ThreadSanitizer must stay silent; helgrind cannot
 * be told (README, Debugging: its known limit).
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoRwlock rw;
static CoMutex m;
static int shared;

static void write_then_read(void *opaque)
{
    qemu_co_rwlock_wrlock(&rw);
    qemu_co_mutex_lock(&m);
    shared++;
    qemu_co_rwlock_downgrade(&rw);
    qemu_co_mutex_unlock(&m);
    use_value(shared);
    qemu_co_rwlock_unlock(&rw);
}

static void read_in_order(void *opaque)
{
    qemu_co_rwlock_rdlock(&rw);
    qemu_co_mutex_lock(&m);
    use_value(shared);
    qemu_co_mutex_unlock(&m);
    qemu_co_rwlock_unlock(&rw);
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(write_then_read), NULL);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(read_in_order), NULL);
}

int main(void)
{
    qemu_co_rwlock_init(&rw);
    qemu_co_mutex_init(&m);
    run_pair(thread_a, thread_b);
    check(shared == 1, "the writer's update made once");
    return 0;
}
