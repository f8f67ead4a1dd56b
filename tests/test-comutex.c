/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CoMutex: hand-over to the oldest waiter, no barging, contention from
 * several threads, and every misuse stopping with a message. Coroutine
 * bodies record what they see in logs; the assertions run afterwards.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "harness.h"

#define END NULL

/* An order log shared by the coroutines of one test (one thread). */
static CoMutex mutex;           /* zero-filled: unlocked, as in QEMU */

struct locker {
    int id;
    bool hold_across_yield;
};

static void coroutine_fn lock_log_unlock(void *opaque)
{
    struct locker *l = opaque;

    qemu_co_mutex_lock(&mutex);
    log_event(l->id);
    if (l->hold_across_yield) {
        qemu_coroutine_yield();
    }
    log_event(-l->id);
    qemu_co_mutex_unlock(&mutex);
}

/* c1 holds and yields; c2 blocks; entering c1 again unlocks and finishes
 * it, and c2 gets the lock and runs before that enter returns. */
static void test_hand_over(void **state)
{
    struct locker l1 = { 1, true }, l2 = { 2, false };
    Coroutine *c1 = qemu_coroutine_create(lock_log_unlock);
    Coroutine *c2 = qemu_coroutine_create(lock_log_unlock);
    static const int expected[] = { 1, -1, 2, -2 };

    log_reset();
    qemu_coroutine_enter(c1, &l1);
    qemu_coroutine_enter(c2, &l2);
    assert_int_equal(log_length(), 1);         /* c2 waits */
    assert_false(qemu_coroutine_entered(c2));
    qemu_coroutine_enter(c1, NULL);
    assert_log(expected, 4);
}

/* While c1 holds the mutex, c2, c3 and c4 line up. c1 unlocks and, before
 * it yields, a newcomer c5 asks: it must not take the mutex ahead of the
 * ones already waiting. */
static void coroutine_fn unlock_then_newcomer(void *opaque)
{
    static struct locker l5 = { 5, false };

    qemu_co_mutex_lock(&mutex);
    log_event(1);
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(&mutex);
    qemu_coroutine_enter(qemu_coroutine_create(lock_log_unlock), &l5);
    log_event(-1);
}

static void test_fifo_without_barging(void **state)
{
    struct locker l[5] = { { 0 }, { 0 }, { 2, false }, { 3, false }, { 4, false } };
    Coroutine *c1 = qemu_coroutine_create(unlock_then_newcomer);
    static const int expected[] = { 1, -1, 2, -2, 3, -3, 4, -4, 5, -5 };

    log_reset();
    qemu_coroutine_enter(c1, NULL);
    for (int i = 2; i <= 4; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(lock_log_unlock), &l[i]);
    }
    qemu_coroutine_enter(c1, NULL);
    assert_log(expected, 10);
}

/* A mutex in a structure that was zero-filled, and one made by init. */
static void test_zero_and_init(void **state)
{
    struct locker l1 = { 7, true };
    Coroutine *c1 = qemu_coroutine_create(lock_log_unlock);

    qemu_co_mutex_init(&mutex);
    log_reset();
    qemu_coroutine_enter(c1, &l1);
    qemu_coroutine_enter(c1, NULL);
    assert_int_equal(log_length(), 2);
}

/*
 * Four threads, eight coroutines each, around a plain counter: the mutex
 * alone keeps the count exact. The coroutines also wait in a queue (with
 * and without the mutex held) that the threads drain with
 * qemu_co_enter_next(), so holders and waiters move between threads'
 * chains and wake-ups race with waits on the way in.
 */
enum { THREADS = 4, PER_THREAD = 8 };

static CoMutex counter_mutex;
static CoQueue ready;
static long counter;
static pthread_mutex_t finished_lock = PTHREAD_MUTEX_INITIALIZER;
static int finished;

static int rounds(void)
{
    return under_valgrind() ? 10 : 200;
}

static void coroutine_fn count(void *opaque)
{
    for (int i = 0; i < rounds(); i++) {
        qemu_co_mutex_lock(&counter_mutex);
        long seen = counter;
        if (i % 3 == 0) {
            qemu_co_queue_wait(&ready);     /* holding the mutex */
        }
        counter = seen + 1;
        qemu_co_mutex_unlock(&counter_mutex);
        if (i % 5 == 0) {
            qemu_co_queue_wait(&ready);
        }
    }
    pthread_mutex_lock(&finished_lock);
    finished++;
    pthread_mutex_unlock(&finished_lock);
}

static bool all_finished(void)
{
    bool all;

    pthread_mutex_lock(&finished_lock);
    all = finished == THREADS * PER_THREAD;
    pthread_mutex_unlock(&finished_lock);
    return all;
}

static void *drive(void *arg)
{
    for (int i = 0; i < PER_THREAD; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(count), NULL);
    }
    while (!all_finished()) {
        if (!qemu_co_enter_next(&ready)) {
            sched_yield();
        }
    }
    return arg;
}

static void test_threads_contend(void **state)
{
    pthread_t threads[THREADS];

    counter = 0;
    finished = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, drive, NULL), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    }
    assert_int_equal(counter, (long)THREADS * PER_THREAD * rounds());
    assert_true(qemu_co_queue_empty(&ready));
}

/* Misuse */

static void coroutine_fn unlock_unheld(void *opaque)
{
    qemu_co_mutex_unlock(&mutex);
}

static int child_unlock_unheld(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(unlock_unheld), NULL);
    return 0;
}

static void coroutine_fn hold_and_yield(void *opaque)
{
    qemu_co_mutex_lock(opaque);
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(opaque);
}

static void coroutine_fn unlock_other(void *opaque)
{
    qemu_co_mutex_unlock(opaque);
}

static int child_unlock_other_holder(void *arg)
{
    static CoMutex m;

    qemu_coroutine_enter(qemu_coroutine_create(hold_and_yield), &m);
    qemu_coroutine_enter(qemu_coroutine_create(unlock_other), &m);
    return 0;
}

static void test_unlock_not_held(void **state)
{
    assert_child_aborts(child_unlock_unheld, NULL, "cothread: qemu_co_mutex_unlock:",
                        "CoMutex is not held by the calling coroutine", END);
    assert_child_aborts(child_unlock_other_holder, NULL, "qemu_co_mutex_unlock",
                        "not held by the calling coroutine", END);
}

static void coroutine_fn lock_twice(void *opaque)
{
    qemu_co_mutex_lock(&mutex);
    qemu_co_mutex_lock(&mutex);
}

static int child_lock_twice(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(lock_twice), NULL);
    return 0;
}

static void test_recursive_lock(void **state)
{
    assert_child_aborts(child_lock_twice, NULL, "cothread: qemu_co_mutex_lock:",
                        "CoMutex already held by the calling coroutine", END);
}

static void coroutine_fn lock_and_return(void *opaque)
{
    qemu_co_mutex_lock(&mutex);
}

static int child_finish_holding(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(lock_and_return), NULL);
    return 0;
}

static void test_finish_holding(void **state)
{
    assert_child_aborts(child_finish_holding, NULL, "cothread: coroutine return:",
                        "coroutine finished while holding a CoMutex", END);
}

static int child_lock_outside(void *arg)
{
    qemu_co_mutex_lock(&mutex);
    return 0;
}

static int child_unlock_outside(void *arg)
{
    qemu_co_mutex_unlock(&mutex);
    return 0;
}

static void test_outside_coroutine(void **state)
{
    assert_child_aborts(child_lock_outside, NULL, "cothread: qemu_co_mutex_lock:",
                        "called outside a coroutine", END);
    assert_child_aborts(child_unlock_outside, NULL, "cothread: qemu_co_mutex_unlock:",
                        "called outside a coroutine", END);
}

/* A coroutine that waits for the mutex belongs to the wake-up that will
 * hand it over: entering it by hand is caught. */
static int child_enter_waiter(void *arg)
{
    static CoMutex m;
    Coroutine *waiter = qemu_coroutine_create(hold_and_yield);

    qemu_coroutine_enter(qemu_coroutine_create(hold_and_yield), &m);
    qemu_coroutine_enter(waiter, &m);
    qemu_coroutine_enter(waiter, NULL);
    return 0;
}

static void test_enter_waiter(void **state)
{
    assert_child_aborts(child_enter_waiter, NULL, "cothread: qemu_coroutine_enter:",
                        "coroutine waits on a CoQueue or a coroutine lock", END);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Death tests first: their children create threads, which
         * qemu-user cannot do after a fork while other threads live. */
        cmocka_unit_test(test_unlock_not_held),
        cmocka_unit_test(test_recursive_lock),
        cmocka_unit_test(test_finish_holding),
        cmocka_unit_test(test_outside_coroutine),
        cmocka_unit_test(test_enter_waiter),
        cmocka_unit_test(test_hand_over),
        cmocka_unit_test(test_fifo_without_barging),
        cmocka_unit_test(test_zero_and_init),
        cmocka_unit_test(test_threads_contend),
    };
    return cmocka_run_group_tests_name("comutex", tests, NULL, NULL);
}
