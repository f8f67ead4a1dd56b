/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Misuse the library can detect stops the program at once with one line
 * naming the call and the problem. Each case runs in a forked child with a
 * timeout, so a hang fails the test instead of blocking it.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"

#define END NULL

static void coroutine_fn enter_self(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self(), NULL);
}

static int child_enter_self(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_self), NULL);
    return 0;
}

static void test_enter_self(void **state)
{
    assert_child_aborts(child_enter_self, NULL, "cothread: qemu_coroutine_enter:",
                        "coroutine re-entered while it is running", END);
}

static void coroutine_fn enter_caller(void *opaque)
{
    qemu_coroutine_enter((Coroutine *)opaque, NULL);
}

static void coroutine_fn enter_child_that_enters_us(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_caller), qemu_coroutine_self());
}

static int child_enter_caller(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_child_that_enters_us), NULL);
    return 0;
}

static void test_enter_caller(void **state)
{
    assert_child_aborts(child_enter_caller, NULL, "qemu_coroutine_enter",
                        "coroutine re-entered while it is running", END);
}

static int child_enter_leader(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_self(), NULL);
    return 0;
}

static void test_enter_leader(void **state)
{
    assert_child_aborts(child_enter_leader, NULL, "qemu_coroutine_enter",
                        "cannot enter a thread's leader", END);
}

static int child_enter_leader_from_coroutine(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(enter_caller), qemu_coroutine_self());
    return 0;
}

static void test_enter_leader_from_coroutine(void **state)
{
    assert_child_aborts(child_enter_leader_from_coroutine, NULL,
                        "qemu_coroutine_enter", "cannot enter a thread's leader", END);
}

static int child_yield_outside(void *arg)
{
    qemu_coroutine_yield();
    return 0;
}

static void test_yield_outside_coroutine(void **state)
{
    assert_child_aborts(child_yield_outside, NULL, "qemu_coroutine_yield",
                        "called outside a coroutine", END);
}

/* Two threads entering one suspended coroutine: the second is caught. */
static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t race_cond = PTHREAD_COND_INITIALIZER;
static bool running_in_other_thread;

static void coroutine_fn wait_while_entered(void *opaque)
{
    qemu_coroutine_yield();
    /* Now entered from the second thread: tell the main thread, then wait
     * (it will abort the process). */
    pthread_mutex_lock(&race_lock);
    running_in_other_thread = true;
    pthread_cond_broadcast(&race_cond);
    pthread_mutex_unlock(&race_lock);
    for (;;) {
        pause();
    }
}

static void *enter_from_thread(void *arg)
{
    qemu_coroutine_enter(arg, NULL);
    return NULL;
}

static int child_concurrent_enter(void *arg)
{
    Coroutine *co = qemu_coroutine_create(wait_while_entered);
    pthread_t thread;

    qemu_coroutine_enter(co, NULL);
    pthread_create(&thread, NULL, enter_from_thread, co);
    pthread_mutex_lock(&race_lock);
    while (!running_in_other_thread) {
        pthread_cond_wait(&race_cond, &race_lock);
    }
    pthread_mutex_unlock(&race_lock);
    qemu_coroutine_enter(co, NULL);
    return 0;
}

static void test_concurrent_enter(void **state)
{
    assert_child_aborts(child_concurrent_enter, NULL, "qemu_coroutine_enter",
                        "coroutine is already running: another thread entered it",
                        END);
}

static int child_create_null(void *arg)
{
    qemu_coroutine_create(NULL);
    return 0;
}

static void test_create_null_entry(void **state)
{
    assert_child_aborts(child_create_null, NULL, "qemu_coroutine_create",
                        "NULL entry function for a coroutine", END);
}

static int child_enter_null(void *arg)
{
    qemu_coroutine_enter(NULL, NULL);
    return 0;
}

static void test_enter_null(void **state)
{
    assert_child_aborts(child_enter_null, NULL, "qemu_coroutine_enter",
                        "NULL coroutine", END);
}

/* Each lock and queue call with a NULL object, from inside a coroutine
 * where the call needs one. */
static const struct {
    const char *call, *type;
} null_calls[] = {
    { "qemu_co_queue_init", "CoQueue" },
    { "qemu_co_queue_wait", "CoQueue" },
    { "qemu_co_queue_next", "CoQueue" },
    { "qemu_co_queue_restart_all", "CoQueue" },
    { "qemu_co_enter_next", "CoQueue" },
    { "qemu_co_queue_empty", "CoQueue" },
    { "qemu_co_mutex_init", "CoMutex" },
    { "qemu_co_mutex_lock", "CoMutex" },
    { "qemu_co_mutex_unlock", "CoMutex" },
    { "qemu_co_rwlock_init", "CoRwlock" },
    { "qemu_co_rwlock_rdlock", "CoRwlock" },
    { "qemu_co_rwlock_wrlock", "CoRwlock" },
    { "qemu_co_rwlock_unlock", "CoRwlock" },
    { "qemu_co_rwlock_upgrade", "CoRwlock" },
    { "qemu_co_rwlock_downgrade", "CoRwlock" },
};

static void coroutine_fn call_with_null(void *opaque)
{
    switch ((intptr_t)opaque) {
    case 0: qemu_co_queue_init(NULL); break;
    case 1: qemu_co_queue_wait(NULL); break;
    case 2: qemu_co_queue_next(NULL); break;
    case 3: qemu_co_queue_restart_all(NULL); break;
    case 4: qemu_co_enter_next(NULL); break;
    case 5: qemu_co_queue_empty(NULL); break;
    case 6: qemu_co_mutex_init(NULL); break;
    case 7: qemu_co_mutex_lock(NULL); break;
    case 8: qemu_co_mutex_unlock(NULL); break;
    case 9: qemu_co_rwlock_init(NULL); break;
    case 10: qemu_co_rwlock_rdlock(NULL); break;
    case 11: qemu_co_rwlock_wrlock(NULL); break;
    case 12: qemu_co_rwlock_unlock(NULL); break;
    case 13: qemu_co_rwlock_upgrade(NULL); break;
    case 14: qemu_co_rwlock_downgrade(NULL); break;
    }
}

static int child_null_object(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(call_with_null), arg);
    return 0;
}

static void test_null_lock_objects(void **state)
{
    char expected[64];

    for (size_t i = 0; i < sizeof(null_calls) / sizeof(null_calls[0]); i++) {
        snprintf(expected, sizeof(expected), "NULL %s", null_calls[i].type);
        assert_child_aborts(child_null_object, (void *)(intptr_t)i,
                            null_calls[i].call, expected, END);
    }
}

static void coroutine_fn finish_at_once(void *opaque)
{
}

static int child_enter_finished(void *arg)
{
    Coroutine *co;

    /* With the pool on, the finished object is kept and can be checked. */
    cothread_set_pool_size(4);
    co = qemu_coroutine_create(finish_at_once);
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(co, NULL);
    return 0;
}

static void test_enter_finished(void **state)
{
    assert_child_aborts(child_enter_finished, NULL, "qemu_coroutine_enter",
                        "coroutine has already finished", END);
}

static void coroutine_fn exit_thread(void *opaque)
{
    pthread_exit(NULL);
}

static int child_pthread_exit_in_coroutine(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(exit_thread), NULL);
    return 0;
}

static void test_pthread_exit_in_coroutine(void **state)
{
    assert_child_aborts(child_pthread_exit_in_coroutine, NULL, "pthread_exit",
                        "called inside a coroutine", END);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enter_self),
        cmocka_unit_test(test_enter_caller),
        cmocka_unit_test(test_enter_leader),
        cmocka_unit_test(test_enter_leader_from_coroutine),
        cmocka_unit_test(test_yield_outside_coroutine),
        cmocka_unit_test(test_concurrent_enter),
        cmocka_unit_test(test_create_null_entry),
        cmocka_unit_test(test_enter_null),
        cmocka_unit_test(test_null_lock_objects),
        cmocka_unit_test(test_enter_finished),
        cmocka_unit_test(test_pthread_exit_in_coroutine),
    };
    return cmocka_run_group_tests_name("misuse", tests, NULL, NULL);
}
