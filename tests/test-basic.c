/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Core semantics: create, enter, yield, finish, self, in_coroutine, entered. */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "harness.h"
#include "coroutine-int.h"     /* sizeof(Coroutine), for the inert test */

struct trace {
    int steps;
    void *opaque_seen[4];
    Coroutine *self_seen;
    bool in_coroutine_seen;
    bool entered_seen;
};

static void coroutine_fn record_and_yield_twice(void *opaque)
{
    struct trace *t = opaque;

    t->opaque_seen[t->steps++] = opaque;
    t->self_seen = qemu_coroutine_self();
    t->in_coroutine_seen = qemu_in_coroutine();
    t->entered_seen = qemu_coroutine_entered(t->self_seen);
    qemu_coroutine_yield();
    t->steps++;
    qemu_coroutine_yield();
    t->steps++;
}

static void test_create_runs_nothing(void **state)
{
    struct trace t = { 0 };
    Coroutine *co = qemu_coroutine_create(record_and_yield_twice);

    assert_non_null(co);
    assert_int_equal(t.steps, 0);
    assert_false(qemu_coroutine_entered(co));
    /* Finish it so nothing is left behind. */
    qemu_coroutine_enter(co, &t);
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(co, NULL);
    assert_int_equal(t.steps, 3);
}

static void test_enter_passes_opaque_once(void **state)
{
    struct trace t = { 0 };
    struct trace other = { 0 };
    Coroutine *co = qemu_coroutine_create(record_and_yield_twice);

    qemu_coroutine_enter(co, &t);
    assert_int_equal(t.steps, 1);
    assert_ptr_equal(t.opaque_seen[0], &t);
    qemu_coroutine_enter(co, &other);   /* ignored: not the first entry */
    assert_int_equal(t.steps, 2);
    assert_int_equal(other.steps, 0);
    qemu_coroutine_enter(co, NULL);
    assert_int_equal(t.steps, 3);
}

static void test_self_and_in_coroutine(void **state)
{
    struct trace t = { 0 };
    Coroutine *co = qemu_coroutine_create(record_and_yield_twice);

    assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(co, &t);
    assert_ptr_equal(t.self_seen, co);
    assert_true(t.in_coroutine_seen);
    assert_true(t.entered_seen);
    assert_false(qemu_coroutine_entered(co));   /* suspended */
    assert_false(qemu_in_coroutine());
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(co, NULL);
}

static void *leader_of_new_thread(void *arg)
{
    Coroutine **out = arg;
    out[0] = qemu_coroutine_self();
    out[1] = qemu_coroutine_self();
    return NULL;
}

static void test_leader(void **state)
{
    Coroutine *leader = qemu_coroutine_self();
    Coroutine *other[2];
    pthread_t thread;

    assert_non_null(leader);
    assert_ptr_equal(qemu_coroutine_self(), leader);
    assert_false(qemu_coroutine_entered(leader));   /* QEMU: a leader has no caller */
    assert_int_equal(pthread_create(&thread, NULL, leader_of_new_thread, other), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_non_null(other[0]);
    assert_ptr_equal(other[0], other[1]);
    assert_ptr_not_equal(other[0], leader);
}

/* Yield returns to the last enterer, not to the creator. */
struct relay {
    Coroutine *inner;
    int inner_steps;
    int outer_after_inner;
};

static void coroutine_fn inner_body(void *opaque)
{
    struct relay *r = opaque;
    r->inner_steps++;
    qemu_coroutine_yield();
    r->inner_steps++;
}

static void coroutine_fn outer_body(void *opaque)
{
    struct relay *r = opaque;
    r->inner = qemu_coroutine_create(inner_body);
    qemu_coroutine_enter(r->inner, r);
    r->outer_after_inner = r->inner_steps;
}

static void test_yield_returns_to_last_enterer(void **state)
{
    struct relay r = { 0 };
    Coroutine *outer = qemu_coroutine_create(outer_body);

    qemu_coroutine_enter(outer, &r);    /* outer creates and enters inner, then finishes */
    assert_int_equal(r.outer_after_inner, 1);
    assert_int_equal(r.inner_steps, 1);
    qemu_coroutine_enter(r.inner, NULL); /* the creator is gone; we get control back */
    assert_int_equal(r.inner_steps, 2);
}

static void coroutine_fn count_and_finish(void *opaque)
{
    int *n = opaque;
    (*n)++;
}

static void test_finish_returns_and_repeats(void **state)
{
    int n = 0;

    for (int i = 0; i < 50; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(count_and_finish), &n);
    }
    assert_int_equal(n, 50);
}

static void coroutine_fn ping_pong(void *opaque)
{
    int *counter = opaque;
    for (;;) {
        (*counter)++;
        if (*counter >= 100) {
            return;
        }
        qemu_coroutine_yield();
    }
}

static void coroutine_fn yield_once(void *opaque)
{
    qemu_coroutine_yield();
}

static void coroutine_fn enter_and_finish(void *opaque)
{
    qemu_coroutine_enter(opaque, NULL);
}

/*
 * Once the enter that saw a coroutine finish has returned, nothing may
 * touch its handle: overwrite it while other coroutines switch, as QEMU's
 * own test suite does, then put it back. The handle is only valid memory
 * while its thread is pooled, so the pool is on here. Many rounds, since a
 * late access is a matter of timing.
 */
static void test_finished_handle_is_inert(void **state)
{
    unsigned saved_pool = cothread_get_pool_size();

    assert_int_equal(cothread_set_pool_size(4), 0);
    for (int round = 0; round < (under_valgrind() ? 20 : 500); round++) {
        Coroutine *inner = qemu_coroutine_create(yield_once);
        Coroutine *outer = qemu_coroutine_create(enter_and_finish);
        Coroutine copy;

        qemu_coroutine_enter(outer, inner);     /* outer finishes */
        memcpy(&copy, outer, sizeof(copy));
        memset(outer, 0xff, sizeof(copy));
        qemu_coroutine_enter(inner, NULL);      /* inner finishes */
        memcpy(outer, &copy, sizeof(copy));
    }
    assert_int_equal(cothread_set_pool_size(saved_pool), 0);
}

static void test_many_round_trips(void **state)
{
    int counter = 0;
    Coroutine *co = qemu_coroutine_create(ping_pong);
    int entries = 0;

    do {
        qemu_coroutine_enter(co, &counter);
        entries++;
    } while (counter < 100);
    assert_int_equal(entries, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_runs_nothing),
        cmocka_unit_test(test_enter_passes_opaque_once),
        cmocka_unit_test(test_self_and_in_coroutine),
        cmocka_unit_test(test_leader),
        cmocka_unit_test(test_yield_returns_to_last_enterer),
        cmocka_unit_test(test_finish_returns_and_repeats),
        cmocka_unit_test(test_many_round_trips),
        cmocka_unit_test(test_finished_handle_is_inert),
    };
    return cmocka_run_group_tests_name("basic", tests, NULL, NULL);
}
