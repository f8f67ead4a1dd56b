/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: two threads churn through many coroutines that update shared
 * state under a mutex, once per run, never holding it across a yield.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

#define ROUNDS 100

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int total;

static void bump(void *opaque)
{
    pthread_mutex_lock(&lock);
    total++;
    pthread_mutex_unlock(&lock);
    qemu_coroutine_yield();
    pthread_mutex_lock(&lock);
    total++;
    pthread_mutex_unlock(&lock);
}

static void churn(void)
{
    for (int i = 0; i < ROUNDS; i++) {
        Coroutine *co = qemu_coroutine_create(bump);

        qemu_coroutine_enter(co, NULL);
        qemu_coroutine_enter(co, NULL);
    }
}

int main(void)
{
    run_pair(churn, churn);
    check(total == 4 * ROUNDS, "total of the updates");
    return 0;
}
