/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CoQueue and the wake-up rule: a waiter woken inside a coroutine runs
 * after the waker switches away, within the same enter, in the order the
 * wake-ups were issued and depth first; woken from an application thread
 * it runs at once; chains of wake-ups run in a loop, not on the stack;
 * a waiter woken from another thread's chain runs in that chain.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "harness.h"

#define END NULL

static CoQueue queue;

static void coroutine_fn wait_and_log(void *opaque)
{
    int id = *(int *)opaque;

    log_event(id);
    qemu_co_queue_wait(&queue);
    log_event(-id);
}

static void coroutine_fn wake_all_then_log(void *opaque)
{
    qemu_co_queue_restart_all(&queue);
    log_event(100);         /* the waker runs on: nobody woken has run */
    qemu_coroutine_yield();
    log_event(101);
}

/* Wake-ups run in the order issued, after the waker switched away, and
 * before the enter that entered the waker returns. */
static void test_wake_order(void **state)
{
    static int ids[] = { 1, 2, 3 };
    static const int expected[] = { 1, 2, 3, 100, -1, -2, -3, 101 };
    Coroutine *waker = qemu_coroutine_create(wake_all_then_log);

    log_reset();
    qemu_co_queue_init(&queue);
    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(wait_and_log), &ids[i]);
    }
    assert_false(qemu_co_queue_empty(&queue));
    qemu_coroutine_enter(waker, NULL);
    assert_int_equal(log_length(), 7);
    assert_true(qemu_co_queue_empty(&queue));
    qemu_coroutine_enter(waker, NULL);
    assert_log(expected, 8);
}

/* A woken coroutine's own wake-ups run before the waker's next one. */
static CoQueue qa, qb, qc;

static void coroutine_fn wait_on(void *opaque)
{
    CoQueue *q = opaque;
    int id = q == &qa ? 1 : q == &qb ? 2 : 3;

    qemu_co_queue_wait(q);
    log_event(id);
    if (q == &qa) {
        qemu_co_queue_next(&qc);    /* woken by a woken one */
    }
}

static void coroutine_fn wake_a_and_b(void *opaque)
{
    qemu_co_queue_next(&qa);
    qemu_co_queue_next(&qb);
    log_event(100);
}

static void test_depth_first(void **state)
{
    static const int expected[] = { 100, 1, 3, 2 };

    log_reset();
    qemu_coroutine_enter(qemu_coroutine_create(wait_on), &qa);
    qemu_coroutine_enter(qemu_coroutine_create(wait_on), &qb);
    qemu_coroutine_enter(qemu_coroutine_create(wait_on), &qc);
    qemu_coroutine_enter(qemu_coroutine_create(wake_a_and_b), NULL);
    assert_log(expected, 4);
}

/* Two coroutines wake each other 25,000 times each within one enter: a
 * wake-up chain that long would overflow any stack if it recursed. */
static CoQueue ping, pong;
static long bounces;

static long chain_length(void)
{
    return under_valgrind() ? 500 : 25000;
}

static void coroutine_fn bounce(void *opaque)
{
    CoQueue *mine = opaque;
    CoQueue *other = mine == &ping ? &pong : &ping;

    for (long i = 0; i < chain_length(); i++) {
        qemu_co_queue_wait(mine);
        bounces++;
        qemu_co_queue_next(other);
    }
}

static void coroutine_fn start_bouncing(void *opaque)
{
    qemu_co_queue_next(&ping);
}

static void test_long_chain(void **state)
{
    bounces = 0;
    qemu_coroutine_enter(qemu_coroutine_create(bounce), &ping);
    qemu_coroutine_enter(qemu_coroutine_create(bounce), &pong);
    qemu_coroutine_enter(qemu_coroutine_create(start_bouncing), NULL);
    assert_int_equal(bounces, 2 * chain_length());
    assert_true(qemu_co_queue_empty(&ping));
    assert_true(qemu_co_queue_empty(&pong));
}

/* From an application thread, a wake-up runs the waiter at once. */
static void test_wake_from_thread_runs_at_once(void **state)
{
    static int id = 7;
    static const int expected[] = { 7, -7 };

    log_reset();
    assert_false(qemu_co_queue_next(&queue));
    assert_false(qemu_co_enter_next(&queue));
    qemu_coroutine_enter(qemu_coroutine_create(wait_and_log), &id);
    assert_true(qemu_co_enter_next(&queue));
    assert_log(expected, 2);
}

/* qemu_co_queue_wait(queue, mutex): the mutex is free while waiting, and
 * held again on return. */
static CoMutex mutex;
static bool held_after_wait;

static void coroutine_fn wait_with_mutex(void *opaque)
{
    qemu_co_mutex_lock(&mutex);
    qemu_co_queue_wait(&queue, &mutex);
    log_event(1);
    qemu_co_mutex_unlock(&mutex);   /* aborts unless held again */
    held_after_wait = true;
}

static void coroutine_fn take_mutex_and_wake(void *opaque)
{
    qemu_co_mutex_lock(&mutex);     /* free: the waiter released it */
    log_event(2);
    qemu_co_queue_next(&queue);
    qemu_coroutine_yield();         /* the waiter blocks on the mutex */
    log_event(3);
    qemu_co_mutex_unlock(&mutex);
}

static void test_wait_releases_mutex(void **state)
{
    static const int expected[] = { 2, 3, 1 };
    Coroutine *waker = qemu_coroutine_create(take_mutex_and_wake);

    log_reset();
    held_after_wait = false;
    qemu_coroutine_enter(qemu_coroutine_create(wait_with_mutex), NULL);
    qemu_coroutine_enter(waker, NULL);
    assert_int_equal(log_length(), 1);
    assert_false(held_after_wait);
    qemu_coroutine_enter(waker, NULL);
    assert_log(expected, 3);
    assert_true(held_after_wait);
}

/* A waiter suspended in one thread's chain, woken by a coroutine of
 * another thread's chain, runs in that chain: its next yield returns to
 * the other thread's enter. */
static pthread_t waiter_ran_in;
static bool yielded_to_waker_thread;

static void coroutine_fn wait_then_yield(void *opaque)
{
    qemu_co_queue_wait(&queue);
    log_event(1);
    qemu_coroutine_yield();
    log_event(2);
}

static void coroutine_fn wake_one(void *opaque)
{
    qemu_co_queue_next(&queue);
}

static void *wake_from_other_thread(void *arg)
{
    Coroutine *waiter = arg;

    qemu_coroutine_enter(qemu_coroutine_create(wake_one), NULL);
    /* The waiter ran and yielded back to this thread. */
    yielded_to_waker_thread = log_length() == 1 && !qemu_coroutine_entered(waiter);
    waiter_ran_in = pthread_self();
    qemu_coroutine_enter(waiter, NULL);
    return NULL;
}

static void test_woken_runs_in_wakers_chain(void **state)
{
    static const int expected[] = { 1, 2 };
    Coroutine *waiter = qemu_coroutine_create(wait_then_yield);
    pthread_t thread;

    log_reset();
    yielded_to_waker_thread = false;
    qemu_coroutine_enter(waiter, NULL);
    assert_int_equal(pthread_create(&thread, NULL, wake_from_other_thread, waiter), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_true(yielded_to_waker_thread);
    assert_log(expected, 2);
}

/*
 * Wake-ups that race with waits on the way in: two coroutines keep waiting
 * in one queue, and two threads keep draining it with qemu_co_enter_next().
 * A coroutine that has just joined the queue, still on its way into its
 * wait in one thread's chain, is often taken by the other thread at once.
 * Nothing may be lost and nothing may count as a double enter.
 */
static CoQueue shared;
static pthread_mutex_t passes_lock = PTHREAD_MUTEX_INITIALIZER;
static long passes;

static long passes_wanted(void)
{
    return under_valgrind() ? 100 : 5000;
}

static bool count_pass(void)
{
    bool more;

    pthread_mutex_lock(&passes_lock);
    more = passes < passes_wanted();
    if (more) {
        passes++;
    }
    pthread_mutex_unlock(&passes_lock);
    return more;
}

static bool passing_done(void)
{
    bool done;

    pthread_mutex_lock(&passes_lock);
    done = passes >= passes_wanted();
    pthread_mutex_unlock(&passes_lock);
    return done;
}

static void coroutine_fn pass(void *opaque)
{
    do {
        qemu_co_queue_wait(&shared);
    } while (count_pass());
}

static void *drain(void *arg)
{
    while (!passing_done()) {
        if (!qemu_co_enter_next(&shared)) {
            sched_yield();
        }
    }
    /* Let the last waiters see that it is over and finish. */
    while (qemu_co_enter_next(&shared)) {
        continue;
    }
    return arg;
}

static void test_wake_races_wait(void **state)
{
    pthread_t threads[2];

    passes = 0;
    qemu_coroutine_enter(qemu_coroutine_create(pass), NULL);
    qemu_coroutine_enter(qemu_coroutine_create(pass), NULL);
    assert_int_equal(pthread_create(&threads[0], NULL, drain, NULL), 0);
    assert_int_equal(pthread_create(&threads[1], NULL, drain, NULL), 0);
    assert_int_equal(pthread_join(threads[0], NULL), 0);
    assert_int_equal(pthread_join(threads[1], NULL), 0);
    /* A waiter may still be in line if both threads left between its wait
     * and their last look: run it out here. */
    while (qemu_co_enter_next(&shared)) {
        continue;
    }
    assert_int_equal(passes, passes_wanted());
    assert_true(qemu_co_queue_empty(&shared));
}

/* Misuse */

static int child_wait_outside(void *arg)
{
    qemu_co_queue_wait(&queue);
    return 0;
}

static void coroutine_fn wait_without_mutex(void *opaque)
{
    qemu_co_queue_wait(&queue, &mutex);
}

static int child_wait_mutex_not_held(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(wait_without_mutex), NULL);
    return 0;
}

static int child_enter_waiter(void *arg)
{
    static int id = 1;
    Coroutine *waiter = qemu_coroutine_create(wait_and_log);

    qemu_coroutine_enter(waiter, &id);
    qemu_coroutine_enter(waiter, NULL);
    return 0;
}

/* A waiter from before fork() has no thread in the child: waking it there
 * stops with a message instead of waiting for it forever. */
static int child_wakes_parents_waiter(void *arg)
{
    qemu_co_queue_next(&queue);
    return 0;
}

static void test_wake_after_fork(void **state)
{
    static int id = 9;

    qemu_coroutine_enter(qemu_coroutine_create(wait_and_log), &id);
    assert_child_aborts(child_wakes_parents_waiter, NULL, "cothread: qemu_coroutine_enter:",
                        "coroutine was created before fork()", END);
    assert_true(qemu_co_enter_next(&queue));      /* the parent's is fine */
}

static void test_misuse(void **state)
{
    assert_child_aborts(child_wait_outside, NULL, "cothread: qemu_co_queue_wait:",
                        "called outside a coroutine", END);
    assert_child_aborts(child_wait_mutex_not_held, NULL, "cothread: qemu_co_queue_wait:",
                        "CoMutex is not held by the calling coroutine", END);
    assert_child_aborts(child_enter_waiter, NULL, "cothread: qemu_coroutine_enter:",
                        "coroutine waits on a CoQueue or a coroutine lock", END);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Death tests first: their children create threads, which
         * qemu-user cannot do after a fork while other threads live. */
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_wake_order),
        cmocka_unit_test(test_depth_first),
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_wake_from_thread_runs_at_once),
        cmocka_unit_test(test_wait_releases_mutex),
        cmocka_unit_test(test_woken_runs_in_wakers_chain),
        cmocka_unit_test(test_wake_races_wait),
        cmocka_unit_test(test_wake_after_fork),
    };
    return cmocka_run_group_tests_name("coqueue", tests, NULL, NULL);
}
