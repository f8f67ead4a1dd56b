/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct, cothread only: coroutines of two threads update shared data
 * under one CoMutex, take two CoMutexes always in the same order, and wait
 * in a CoQueue for each other. The locks alone order the accesses: every
 * tool must stay silent.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoMutex outer, inner;
static CoQueue turns;
static int shared;

static void update(void *opaque)
{
    for (int i = 0; i < 20; i++) {
        qemu_co_mutex_lock(&outer);
        qemu_co_mutex_lock(&inner);
        shared++;
        qemu_co_mutex_unlock(&inner);
        if (i % 4 == 0) {
            qemu_co_queue_next(&turns);
            qemu_co_queue_wait(&turns, &outer);
        }
        qemu_co_mutex_unlock(&outer);
    }
}

static void thread_fn(void)
{
    qemu_coroutine_enter(qemu_coroutine_create(update), NULL);
    qemu_coroutine_enter(qemu_coroutine_create(update), NULL);
    /* Whoever still waits is run out by the other thread or here. */
    while (!qemu_co_queue_empty(&turns)) {
        qemu_co_enter_next(&turns);
    }
}

int main(void)
{
    run_pair(thread_fn, thread_fn);
    while (qemu_co_enter_next(&turns)) {
        continue;
    }
    check(shared == 4 * 20, "every update made under the mutex");
    return 0;
}
