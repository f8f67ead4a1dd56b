/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct, cothread only: both threads' coroutines take CoMutex x, then
 * CoRwlock rw, then CoMutexes m, k and n, always in that order. Thread A's
 * writer downgrades rw while it holds x before it and k and n after it (m,
 * taken between, is released first); a downgrade never waits, so that is
 * no acquisition of rw after k and n, and no lock-order inversion.
 * helgrind, which cannot be told that an acquisition does not wait, must
 * see the locks after rw taken again after it, k before n as at first.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoRwlock rw;
static CoMutex x, m, k, n;
static int shared;

static void write_then_read(void *opaque)
{
    qemu_co_mutex_lock(&x);
    qemu_co_rwlock_wrlock(&rw);
    qemu_co_mutex_lock(&m);
    qemu_co_mutex_lock(&k);
    qemu_co_mutex_lock(&n);
    shared++;
    qemu_co_mutex_unlock(&m);
    qemu_co_rwlock_downgrade(&rw);
    qemu_co_mutex_unlock(&n);
    qemu_co_mutex_unlock(&k);
    use_value(shared);
    qemu_co_rwlock_unlock(&rw);
    qemu_co_mutex_unlock(&x);
}

static void read_in_order(void *opaque)
{
    qemu_co_mutex_lock(&x);
    qemu_co_rwlock_rdlock(&rw);
    qemu_co_mutex_lock(&m);
    qemu_co_mutex_lock(&k);
    qemu_co_mutex_lock(&n);
    use_value(shared);
    qemu_co_mutex_unlock(&n);
    qemu_co_mutex_unlock(&k);
    qemu_co_mutex_unlock(&m);
    qemu_co_rwlock_unlock(&rw);
    qemu_co_mutex_unlock(&x);
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
    qemu_co_mutex_init(&x);
    qemu_co_mutex_init(&m);
    qemu_co_mutex_init(&k);
    qemu_co_mutex_init(&n);
    run_pair(thread_a, thread_b);
    check(shared == 1, "the writer's update made once");
    return 0;
}
