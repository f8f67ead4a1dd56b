/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Process exit with coroutines suspended, never entered, or waiting in a
 * chain: exit must not hang, must not run the rest of any coroutine, and
 * (under memcheck) must leave nothing lost. Each case is a child that
 * calls exit().
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void must_not_run(void *arg)
{
    fprintf(stderr, "MUST NOT RUN: %s\n", (const char *)arg);
}

static void coroutine_fn suspend_forever(void *opaque)
{
    pthread_cleanup_push(must_not_run, (void *)"cleanup handler");
    qemu_coroutine_yield();
    fprintf(stderr, "MUST NOT RUN: rest of body\n");
    pthread_cleanup_pop(0);
}

static void coroutine_fn yield_once(void *opaque)
{
    qemu_coroutine_yield();
}

static void coroutine_fn suspend_with_child(void *opaque)
{
    Coroutine *child = qemu_coroutine_create(suspend_forever);
    qemu_coroutine_enter(child, NULL);
    qemu_coroutine_yield();
    fprintf(stderr, "MUST NOT RUN: parent body\n");
}

static void leave_coroutines_behind(void)
{
    for (int i = 0; i < 10; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(suspend_forever), NULL);
    }
    for (int i = 0; i < 5; i++) {
        (void)qemu_coroutine_create(suspend_forever);   /* never entered */
    }
    qemu_coroutine_enter(qemu_coroutine_create(suspend_with_child), NULL);
    /* Idle pool threads too. */
    for (int i = 0; i < 3; i++) {
        Coroutine *co = qemu_coroutine_create(yield_once);
        qemu_coroutine_enter(co, NULL);
        qemu_coroutine_enter(co, NULL);
    }
}

static int child_exit_with_suspended(void *arg)
{
    if (arg != NULL) {
        cothread_set_pool_size(8);
    }
    leave_coroutines_behind();
    exit(0);
}

static void assert_exit(int (*fn)(void *), void *arg, int also_ok)
{
    struct child_result r;

    run_in_child(fn, arg, &r);
    if (r.timed_out || !WIFEXITED(r.status) ||
        (WEXITSTATUS(r.status) != 0 && WEXITSTATUS(r.status) != also_ok) ||
        strstr(r.output, "MUST NOT RUN") != NULL) {
        print_error("unclean exit (timed out: %d, status 0x%x); stderr:\n%s\n",
                    r.timed_out, (unsigned)r.status, r.output);
        fail();
    }
}

static void assert_clean_exit(int (*fn)(void *), void *arg)
{
    assert_exit(fn, arg, 0);
}

static void test_exit_with_suspended_coroutines(void **state)
{
    assert_clean_exit(child_exit_with_suspended, NULL);
}

static void test_exit_with_suspended_coroutines_and_pool(void **state)
{
    assert_clean_exit(child_exit_with_suspended, (void *)1);
}

static void coroutine_fn exit_here(void *opaque)
{
    exit(0);
}

/* A chain of enters, three coroutines deep, whose innermost calls exit(). */
static void coroutine_fn enter_one_that_exits(void *opaque)
{
    int depth = (int)(intptr_t)opaque;

    if (depth < 3) {
        qemu_coroutine_enter(qemu_coroutine_create(enter_one_that_exits),
                             (void *)(intptr_t)(depth + 1));
    } else {
        qemu_coroutine_enter(qemu_coroutine_create(exit_here), NULL);
    }
    fprintf(stderr, "MUST NOT RUN: after exit\n");
}

static int child_exit_inside_coroutine(void *arg)
{
    leave_coroutines_behind();
    qemu_coroutine_enter(qemu_coroutine_create(enter_one_that_exits), (void *)(intptr_t)1);
    return 1;
}

static void test_exit_inside_nested_coroutine(void **state)
{
    /* The thread that calls exit() cannot be joined: memcheck reports its
     * thread-local storage as possibly lost, as for any thread that calls
     * exit(), and then exits with valgrind's error code 1. Hangs and code
     * that must not run still fail the test there. */
    assert_exit(child_exit_inside_coroutine, NULL, under_valgrind() ? 1 : 0);
}

static void *thread_with_leader(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(suspend_forever), NULL);
    return NULL;
}

static int child_exit_after_threads(void *arg)
{
    pthread_t threads[3];

    for (int i = 0; i < 3; i++) {
        pthread_create(&threads[i], NULL, thread_with_leader, NULL);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
    }
    exit(0);
}

static void test_exit_after_threads_left_coroutines(void **state)
{
    assert_clean_exit(child_exit_after_threads, NULL);
}

/* An exit handler of the application's may still finish coroutines. */
static Coroutine *left_for_handler;
static int handler_steps;

static void coroutine_fn count_twice(void *opaque)
{
    handler_steps++;
    qemu_coroutine_yield();
    handler_steps++;
}

static void finish_in_exit_handler(void)
{
    qemu_coroutine_enter(left_for_handler, NULL);
    if (handler_steps != 2) {
        _exit(5);
    }
}

static int child_exit_handler_enters(void *arg)
{
    atexit(finish_in_exit_handler);     /* before the library's first use */
    left_for_handler = qemu_coroutine_create(count_twice);
    qemu_coroutine_enter(left_for_handler, NULL);
    exit(0);
}

static void test_exit_handler_can_still_enter(void **state)
{
    assert_clean_exit(child_exit_handler_enters, NULL);
}

/* A thread-key destructor of the application's, run as a suspended
 * coroutine's thread is unwound at exit, may call into the library. */
static pthread_key_t key_calling_back;

static void destructor_calls_library(void *value)
{
    (void)value;
    (void)cothread_get_pool_size();
}

static void coroutine_fn set_key_and_yield(void *opaque)
{
    pthread_setspecific(key_calling_back, &key_calling_back);
    qemu_coroutine_yield();
}

static int child_key_destructor_calls_back(void *arg)
{
    pthread_key_create(&key_calling_back, destructor_calls_library);
    cothread_set_pool_size(4);
    for (int i = 0; i < 4; i++) {
        Coroutine *co = qemu_coroutine_create(set_key_and_yield);
        qemu_coroutine_enter(co, NULL);
        if (i % 2) {
            qemu_coroutine_enter(co, NULL);   /* finished: idle in the pool */
        }
    }
    cothread_set_pool_size(1);                /* trims an idle thread */
    exit(0);
}

static void test_key_destructors_may_call_back(void **state)
{
    assert_clean_exit(child_key_destructor_calls_back, NULL);
}

/* exit() from a signal handler (as SIGTERM handlers do, although POSIX
 * does not allow it) that interrupts the main thread's wait for its
 * coroutine: the exit handler must not wait for that wait to end. */
static pthread_t main_thread;

static void exit_on_signal(int signo)
{
    (void)signo;
    exit(0);
}

static void coroutine_fn signal_the_waiter(void *opaque)
{
    (void)opaque;
    usleep(20 * 1000);          /* the enterer is waiting by now */
    pthread_kill(main_thread, SIGUSR1);
    for (;;) {
        usleep(1000);
    }
}

static int child_exit_from_signal_handler(void *arg)
{
    struct sigaction sa;

    (void)arg;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = exit_on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    main_thread = pthread_self();
    qemu_coroutine_enter(qemu_coroutine_create(signal_the_waiter), NULL);
    return 1;                   /* the enter never returns */
}

static void test_exit_from_signal_handler_while_entering(void **state)
{
    /* The coroutine still runs on its own thread when the process ends,
     * which memcheck reports as that thread's storage possibly lost, as it
     * would for any thread. */
    if (under_valgrind()) {
        skip();
    }
    assert_clean_exit(child_exit_from_signal_handler, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_with_suspended_coroutines),
        cmocka_unit_test(test_exit_with_suspended_coroutines_and_pool),
        cmocka_unit_test(test_exit_inside_nested_coroutine),
        cmocka_unit_test(test_exit_after_threads_left_coroutines),
        cmocka_unit_test(test_exit_handler_can_still_enter),
        cmocka_unit_test(test_key_destructors_may_call_back),
        cmocka_unit_test(test_exit_from_signal_handler_while_entering),
    };
    return cmocka_run_group_tests_name("exit", tests, NULL, NULL);
}
