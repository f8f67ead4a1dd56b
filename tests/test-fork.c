/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fork(): a child forked by an application thread can use coroutines (the
 * parent's, whose threads do not exist there, fail loudly); a child forked
 * inside a coroutine stops with a message at its next switch.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/*
 * qemu-user 7.2 aborts (qemu_plugin_vcpu_init_hook: assertion failed) when a
 * child forked while other threads were alive creates a thread. Here the
 * parent always has coroutine threads alive when it forks.
 */
static bool qemu_cannot_thread_after_fork(void)
{
    if (under_qemu_user()) {
        print_message("skipped: qemu-user aborts when a child forked by a "
                      "multi-threaded process creates a thread\n");
        return true;
    }
    return false;
}

static void coroutine_fn yield_once(void *opaque)
{
    int *steps = opaque;
    (*steps)++;
    qemu_coroutine_yield();
    (*steps)++;
}

static Coroutine *suspended_in_parent;
static int parent_steps;

/* Leaves the parent with a suspended coroutine and idle pool threads. */
static void use_coroutines_in_parent(void)
{
    int steps = 0;

    for (int i = 0; i < 4; i++) {
        Coroutine *co = qemu_coroutine_create(yield_once);
        qemu_coroutine_enter(co, &steps);
        qemu_coroutine_enter(co, NULL);
    }
    if (suspended_in_parent == NULL) {
        suspended_in_parent = qemu_coroutine_create(yield_once);
        qemu_coroutine_enter(suspended_in_parent, &parent_steps);
    }
}

static int child_uses_coroutines(void *arg)
{
    int steps = 0;
    Coroutine *co = qemu_coroutine_create(yield_once);

    qemu_coroutine_enter(co, &steps);
    if (steps != 1 || !qemu_coroutine_self()) {
        return 1;
    }
    qemu_coroutine_enter(co, NULL);
    if (steps != 2) {
        return 2;
    }
    /* Leave one suspended: exit() must not wait for the parent's threads. */
    qemu_coroutine_enter(qemu_coroutine_create(yield_once), &steps);
    exit(0);
}

static void test_child_of_application_thread_runs_coroutines(void **state)
{
#if defined(__SANITIZE_THREAD__)
    /* TSan keeps the parent's threads in its registry and dies when the
     * child creates a thread with an id one of them had. */
    print_message("skipped: ThreadSanitizer cannot create threads after a "
                  "multi-threaded fork\n");
    skip();
#endif
    if (qemu_cannot_thread_after_fork()) {
        skip();
    }
    use_coroutines_in_parent();
    assert_child_succeeds(child_uses_coroutines, NULL);
}

static int child_enters_parents_coroutine(void *arg)
{
    qemu_coroutine_enter(suspended_in_parent, NULL);
    return 0;
}

static void test_parents_coroutine_fails_in_child(void **state)
{
    use_coroutines_in_parent();
    assert_child_aborts(child_enters_parents_coroutine, NULL,
                        "qemu_coroutine_enter", "coroutine", "before fork()", NULL);
}

enum after_fork { YIELD_IN_CHILD, RETURN_IN_CHILD };

struct forking {
    enum after_fork what;
    bool forked;
    struct child_result result;
};

/* Forks inside a coroutine of this very process; the child then switches. */
static void coroutine_fn fork_inside(void *opaque)
{
    struct forking *f = opaque;
    int fd;
    pid_t pid = child_start(&fd);

    if (pid == 0) {
        if (f->what == YIELD_IN_CHILD) {
            qemu_coroutine_yield();   /* must abort: the caller is not here */
            _exit(3);
        }
        return;                       /* returning from the body must abort */
    }
    if (pid > 0) {
        f->forked = true;
        child_finish(pid, fd, &f->result);
    }
}

static void check_child_stopped(enum after_fork what, const char *call)
{
    struct forking f = { .what = what };

    skip_without_fork();
    qemu_coroutine_enter(qemu_coroutine_create(fork_inside), &f);
    assert_true(f.forked);
    if (f.result.timed_out || !WIFSIGNALED(f.result.status) ||
        WTERMSIG(f.result.status) != SIGABRT ||
        strstr(f.result.output, call) == NULL ||
        strstr(f.result.output, "forked inside a coroutine") == NULL) {
        print_error("child did not stop as expected (timed out: %d, status 0x%x); "
                    "stderr:\n%s\n", f.result.timed_out, (unsigned)f.result.status,
                    f.result.output);
        fail();
    }
}

static void test_yield_in_child_forked_in_coroutine(void **state)
{
    check_child_stopped(YIELD_IN_CHILD, "qemu_coroutine_yield");
}

static void test_return_in_child_forked_in_coroutine(void **state)
{
    check_child_stopped(RETURN_IN_CHILD, "coroutine return");
}

static int finish_parent_coroutine(void)
{
    qemu_coroutine_enter(suspended_in_parent, NULL);
    return parent_steps;
}

static void test_parent_unaffected(void **state)
{
    use_coroutines_in_parent();
    assert_int_equal(finish_parent_coroutine(), 2);
    suspended_in_parent = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_of_application_thread_runs_coroutines),
        cmocka_unit_test(test_parents_coroutine_fails_in_child),
        cmocka_unit_test(test_yield_in_child_forked_in_coroutine),
        cmocka_unit_test(test_return_in_child_forked_in_coroutine),
        cmocka_unit_test(test_parent_unaffected),
    };
    return cmocka_run_group_tests_name("fork", tests, NULL, NULL);
}
