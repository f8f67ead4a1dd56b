/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A CoMutex lock-order inversion, cothread only: thread A's coroutine takes
 * CoMutex a then b; later, thread B's coroutine takes b then a. They never
 * deadlock here (one finishes before the other starts), but the order is
 * inverted, and helgrind and ThreadSanitizer must say so as they would for
 * pthread mutexes. With stack switching the tools cannot: every coroutine
 * of a thread is that thread.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoMutex a, b;

static void a_then_b(void *opaque)
{
    qemu_co_mutex_lock(&a);
    qemu_co_mutex_lock(&b);
    qemu_co_mutex_unlock(&b);
    qemu_co_mutex_unlock(&a);
}

static void b_then_a(void *opaque)
{
    qemu_co_mutex_lock(&b);
    qemu_co_mutex_lock(&a);
    qemu_co_mutex_unlock(&a);
    qemu_co_mutex_unlock(&b);
}

static void thread_a(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(a_then_b), NULL);
    step_reach(1);
}

static void thread_b(void)
{
    step_wait(1);
    qemu_coroutine_enter(qemu_coroutine_create(b_then_a), NULL);
}

int main(void)
{
    run_pair(thread_a, thread_b);
    return 0;
}
