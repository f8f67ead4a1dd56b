/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct, cothread only: at exit, a coroutine waits in
 * qemu_co_rwlock_upgrade() behind a writer that got CoRwlock rw from the
 * upgrade itself and holds it, suspended. The upgrader holds nothing while
 * it waits (its read lock went with the upgrade), so when both threads
 * leave, no tool may report a lock released twice or by the wrong thread.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

static CoRwlock rw;

static void reader_then_upgrade(void *opaque)
{
    qemu_co_rwlock_rdlock(&rw);
    qemu_coroutine_yield();
    qemu_co_rwlock_upgrade(&rw);    /* waits behind the writer until exit */
    qemu_co_rwlock_unlock(&rw);
}

static void writer(void *opaque)
{
    qemu_co_rwlock_wrlock(&rw);     /* waits for the reader */
    qemu_coroutine_yield();         /* holds rw until exit */
    qemu_co_rwlock_unlock(&rw);
}

int main(void)
{
    Coroutine *reader = qemu_coroutine_create(reader_then_upgrade);

    qemu_co_rwlock_init(&rw);
    qemu_coroutine_enter(reader, NULL);
    qemu_coroutine_enter(qemu_coroutine_create(writer), NULL);
    /* The upgrade lets the writer in first; it runs and yields. */
    qemu_coroutine_enter(reader, NULL);
    return 0;
}
