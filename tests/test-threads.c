/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Several OS threads: each drives its own coroutines at the same time, a
 * suspended coroutine is resumed from another thread, a coroutine outlives
 * the thread that created it. The data handed across switches is plain
 * (non-atomic) memory, so helgrind, DRD and TSan check that every switch
 * orders it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define DRIVERS 4

static int rounds(void)
{
    return under_valgrind() ? 20 : 300;
}

struct shared_block {
    int turn;           /* plain int, written by both sides in turn */
    long *heap;         /* heap block, written by both sides in turn */
    int heap_len;
    int nested_turns;
};

static void coroutine_fn nested_helper(void *opaque)
{
    struct shared_block *b = opaque;
    for (;;) {
        b->nested_turns++;
        b->heap[b->nested_turns % b->heap_len] += 1;
        qemu_coroutine_yield();
    }
}

static void coroutine_fn worker(void *opaque)
{
    struct shared_block *b = opaque;
    Coroutine *helper = qemu_coroutine_create(nested_helper);
    int n = rounds();

    for (int i = 0; i < n; i++) {
        b->turn++;                       /* caller made it odd; we make it even */
        b->heap[i % b->heap_len] *= 2;
        qemu_coroutine_enter(helper, b); /* nested switch inside the round */
        qemu_coroutine_yield();
    }
    /* helper stays suspended: the exit path must clean it up too */
}

struct driver {
    pthread_t thread;
    struct shared_block block;
    bool consistent;
};

static void *drive(void *arg)
{
    struct driver *d = arg;
    struct shared_block *b = &d->block;
    Coroutine *co = qemu_coroutine_create(worker);
    int n = rounds();

    d->consistent = true;
    b->heap_len = 16;
    b->heap = calloc((size_t)b->heap_len, sizeof(long));
    for (int i = 0; i < b->heap_len; i++) {
        b->heap[i] = 1;
    }
    for (int i = 0; i < n; i++) {
        b->turn++;
        qemu_coroutine_enter(co, b);
        if (b->turn != 2 * (i + 1) || b->nested_turns != i + 1) {
            d->consistent = false;
        }
        b->heap[(i + 1) % b->heap_len] -= 1;
    }
    qemu_coroutine_enter(co, NULL);  /* let it finish */
    free(b->heap);
    return NULL;
}

static void test_threads_drive_their_own_coroutines(void **state)
{
    struct driver d[DRIVERS];

    memset(d, 0, sizeof(d));
    for (int i = 0; i < DRIVERS; i++) {
        assert_int_equal(pthread_create(&d[i].thread, NULL, drive, &d[i]), 0);
    }
    for (int i = 0; i < DRIVERS; i++) {
        assert_int_equal(pthread_join(d[i].thread, NULL), 0);
        assert_true(d[i].consistent);
    }
}

/* Resuming from another thread: the next yield returns to that thread. */
struct handoff {
    int step;
    int value;
    pthread_t where[3];
};

static void coroutine_fn stepper(void *opaque)
{
    struct handoff *h = opaque;
    h->where[h->step++] = pthread_self();
    h->value = 10;
    qemu_coroutine_yield();
    h->where[h->step++] = pthread_self();
    h->value += 5;
    qemu_coroutine_yield();
    h->where[h->step++] = pthread_self();
    h->value += 1;
}

struct resumer {
    Coroutine *co;
    struct handoff *h;
    int value_after;
    int step_after;
    bool in_coroutine_after;
};

static void *resume_once(void *arg)
{
    struct resumer *r = arg;
    qemu_coroutine_enter(r->co, NULL);
    r->value_after = r->h->value;   /* returns here, in this thread */
    r->step_after = r->h->step;
    r->in_coroutine_after = qemu_in_coroutine();
    return NULL;
}

static void test_resume_from_another_thread(void **state)
{
    struct handoff h = { 0 };
    struct resumer r = { .h = &h };
    pthread_t thread;

    r.co = qemu_coroutine_create(stepper);
    qemu_coroutine_enter(r.co, &h);
    assert_int_equal(h.step, 1);
    assert_int_equal(pthread_create(&thread, NULL, resume_once, &r), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(r.step_after, 2);
    assert_int_equal(r.value_after, 15);
    assert_false(r.in_coroutine_after);
    qemu_coroutine_enter(r.co, NULL);
    assert_int_equal(h.step, 3);
    assert_int_equal(h.value, 16);
    /* One coroutine thread throughout, whoever entered it. */
    assert_true(pthread_equal(h.where[0], h.where[1]));
    assert_true(pthread_equal(h.where[1], h.where[2]));
}

/* A coroutine created (and started) by a thread that has exited. */
static void *create_and_start(void *arg)
{
    struct resumer *r = arg;
    (void)qemu_coroutine_self();     /* this thread's leader is freed at exit */
    r->co = qemu_coroutine_create(stepper);
    qemu_coroutine_enter(r->co, r->h);
    return NULL;
}

static void test_creator_thread_exited(void **state)
{
    struct handoff h = { 0 };
    struct resumer r = { .h = &h };
    pthread_t thread;

    assert_int_equal(pthread_create(&thread, NULL, create_and_start, &r), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(h.step, 1);
    qemu_coroutine_enter(r.co, NULL);
    assert_int_equal(h.step, 2);
    qemu_coroutine_enter(r.co, NULL);
    assert_int_equal(h.step, 3);
    assert_int_equal(h.value, 16);
}

/* Cancelling a thread while its coroutine runs takes effect after the
 * enter returns, at the thread's next cancellation point. */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cancel_cond = PTHREAD_COND_INITIALIZER;
static bool coroutine_running, cancel_sent;
static int cancel_steps;

static void coroutine_fn wait_for_cancel(void *opaque)
{
    pthread_mutex_lock(&cancel_lock);
    coroutine_running = true;
    pthread_cond_broadcast(&cancel_cond);
    while (!cancel_sent) {
        pthread_cond_wait(&cancel_cond, &cancel_lock);
    }
    pthread_mutex_unlock(&cancel_lock);
    cancel_steps++;
}

static void *enter_then_cancel_point(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(wait_for_cancel), NULL);
    cancel_steps++;                 /* enter returned normally */
    pthread_testcancel();
    cancel_steps += 100;            /* must not be reached */
    return NULL;
}

static void test_cancel_during_enter_is_deferred(void **state)
{
    pthread_t thread;
    void *result;

    assert_int_equal(pthread_create(&thread, NULL, enter_then_cancel_point, NULL), 0);
    pthread_mutex_lock(&cancel_lock);
    while (!coroutine_running) {
        pthread_cond_wait(&cancel_cond, &cancel_lock);
    }
    assert_int_equal(pthread_cancel(thread), 0);
    cancel_sent = true;
    pthread_cond_broadcast(&cancel_cond);
    pthread_mutex_unlock(&cancel_lock);
    assert_int_equal(pthread_join(thread, &result), 0);
    assert_ptr_equal(result, PTHREAD_CANCELED);
    assert_int_equal(cancel_steps, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_drive_their_own_coroutines),
        cmocka_unit_test(test_resume_from_another_thread),
        cmocka_unit_test(test_creator_thread_exited),
        cmocka_unit_test(test_cancel_during_enter_is_deferred),
    };
    return cmocka_run_group_tests_name("threads", tests, NULL, NULL);
}
