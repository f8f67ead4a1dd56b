/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: thread T1 runs coroutine C until it yields, writes handed, and
 * hands C over to thread T2 under a mutex. T2 resumes C, which reads what it
 * wrote itself before the yield and what T1 wrote before the handoff, and
 * writes a result that T2 reads when enter returns.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_filled = PTHREAD_COND_INITIALIZER;
static Coroutine *slot;

static int before;
static int handed;
static int result;

static void body(void *opaque)
{
    before = 1;
    qemu_coroutine_yield();
    result = before + handed;
    qemu_coroutine_yield();
    result *= 10;
}

static void thread_t1(void)
{
    Coroutine *co = qemu_coroutine_create(body);

    qemu_coroutine_enter(co, NULL);
    handed = 41;
    pthread_mutex_lock(&slot_lock);
    slot = co;
    pthread_cond_signal(&slot_filled);
    pthread_mutex_unlock(&slot_lock);
}

static void thread_t2(void)
{
    Coroutine *co;

    pthread_mutex_lock(&slot_lock);
    while (slot == NULL) {
        pthread_cond_wait(&slot_filled, &slot_lock);
    }
    co = slot;
    pthread_mutex_unlock(&slot_lock);

    qemu_coroutine_enter(co, NULL);
    check(result == 42, "result after the resumption");
    qemu_coroutine_enter(co, NULL);
    check(result == 420, "result after the finish");
}

int main(void)
{
    run_pair(thread_t1, thread_t2);
    return 0;
}
