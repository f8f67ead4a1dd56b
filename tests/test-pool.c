/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pool of idle coroutine threads: reuse, the cap, turning it off, and a
 * reused thread starting each coroutine like a fresh one. A thread-local
 * marker tells a reused thread from a fresh one (thread-local variables are
 * exactly what a reused thread keeps).
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "harness.h"

static _Thread_local int marker;

#define MAX_BATCH 16

struct seen {
    int reused;                 /* saw the marker of an earlier coroutine */
    int usr1_blocked;
    int errno_at_start;
    char name[32];
};

static void coroutine_fn mark_and_mess_up(void *opaque)
{
    struct seen *s = opaque;
    sigset_t set, usr1;

    s->reused = marker;
    marker = 1;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    s->usr1_blocked = sigismember(&set, SIGUSR1);
    s->errno_at_start = errno;
#ifdef HAVE_PTHREAD_SETNAME_NP
    pthread_getname_np(pthread_self(), s->name, sizeof(s->name));
    pthread_setname_np(pthread_self(), "renamed");
#endif
    /* Change what a fresh thread would not have. */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    errno = EILSEQ;
    qemu_coroutine_yield();
}

/* Runs n coroutines side by side (all suspended at once), then finishes them;
 * returns how many ran on a reused thread. */
static int batch(int n, struct seen *seen)
{
    Coroutine *co[MAX_BATCH];
    int reused = 0;

    memset(seen, 0, sizeof(*seen) * (size_t)n);
    for (int i = 0; i < n; i++) {
        co[i] = qemu_coroutine_create(mark_and_mess_up);
        errno = 1000 + i;
        qemu_coroutine_enter(co[i], &seen[i]);
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(co[i], NULL);
        reused += seen[i].reused;
    }
    return reused;
}

static void test_threads_are_reused_up_to_the_cap(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);   /* empty the pool */
    assert_int_equal(cothread_set_pool_size(4), 0);
    assert_int_equal(batch(8, seen), 0);
    assert_int_equal(batch(8, seen), 4);     /* four idle threads were kept */
    assert_int_equal(batch(2, seen), 2);
}

static void test_pool_off_never_reuses(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(batch(4, seen), 0);
}

static void test_lowering_the_cap_releases_threads(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(8), 0);
    assert_int_equal(batch(8, seen), 0);
    assert_int_equal(cothread_set_pool_size(1), 0);
    assert_int_equal(batch(8, seen), 1);
}

static void test_new_stack_size_drops_idle_threads(void **state)
{
    struct seen seen[MAX_BATCH];
    size_t saved = cothread_get_stack_size();

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(4), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(cothread_set_stack_size(saved * 2), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(cothread_set_stack_size(saved), 0);
}

static void test_reused_thread_starts_fresh(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(4), 0);
    batch(4, seen);
    assert_int_equal(batch(4, seen), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen[i].reused, 1);
        assert_int_equal(seen[i].usr1_blocked, 1);
        assert_int_equal(seen[i].errno_at_start, 1000 + i);
#ifdef HAVE_PTHREAD_SETNAME_NP
        assert_string_equal(seen[i].name, "coroutine");
#endif
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_are_reused_up_to_the_cap),
        cmocka_unit_test(test_pool_off_never_reuses),
        cmocka_unit_test(test_lowering_the_cap_releases_threads),
        cmocka_unit_test(test_new_stack_size_drops_idle_threads),
        cmocka_unit_test(test_reused_thread_starts_fresh),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
