/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: a coroutine takes CoMutex m (and CoRwlock rw for reading) and
 * yields; a second waits for m; main returns with both suspended. With
 * stack switching they are abandoned as they are (README: Process exit),
 * and the program is correct: no tool may report anything, including
 * helgrind's "exiting thread still holds a lock".
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoMutex m;
static CoRwlock rw;

static void hold_and_yield(void *opaque)
{
    qemu_co_rwlock_rdlock(&rw);
    qemu_co_mutex_lock(&m);
    qemu_coroutine_yield();     /* never entered again */
    qemu_co_mutex_unlock(&m);
    qemu_co_rwlock_unlock(&rw);
}

static void wait_for_m(void *opaque)
{
    qemu_co_mutex_lock(&m);     /* waits in line until exit */
    qemu_co_mutex_unlock(&m);
}

int main(void)
{
    qemu_co_mutex_init(&m);
    qemu_co_rwlock_init(&rw);
    qemu_coroutine_enter(qemu_coroutine_create(hold_and_yield), NULL);
    qemu_coroutine_enter(qemu_coroutine_create(wait_for_m), NULL);
    return 0;
}
