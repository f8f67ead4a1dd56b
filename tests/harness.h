/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared test helpers. cmocka keeps its state per thread, so coroutine
 * bodies in the tests only record what they see (in plain variables);
 * the assertions run after qemu_coroutine_enter() returns.
 */
#ifndef COTHREAD_TEST_HARNESS_H
#define COTHREAD_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdbool.h>
#include <sys/types.h>
/* cmocka.h declares uintptr_t itself unless told that <stdint.h> did, and
 * on wasm32 its choice (unsigned int) is not the C library's (unsigned
 * long). */
#ifndef _UINTPTR_T_DEFINED
#define _UINTPTR_T_DEFINED 1
#endif
#include <cmocka.h>

#include "qemu-coroutine.h"

/* What a forked child did. */
struct child_result {
    bool timed_out;
    int status;         /* as from waitpid() */
    char output[8192];  /* its stderr, NUL-terminated, possibly cut */
};

/*
 * The two halves of run_in_child(), for a child that must do more than call
 * a function (and they use no cmocka calls, so a coroutine body may use
 * them). child_start() forks with core dumps off and the child's stderr
 * going to a pipe: it returns 0 in the child, the child's pid in the parent
 * (with the pipe's read end in *read_fd), -1 on failure. child_finish()
 * collects the child's stderr and status, killing it after the timeout.
 */
pid_t child_start(int *read_fd);
void child_finish(pid_t pid, int read_fd, struct child_result *result);

/*
 * Runs fn(arg) in a forked child with core dumps off and stderr captured.
 * The child exits with fn's return value. A child still running after the
 * timeout is killed and reported as timed out.
 */
void run_in_child(int (*fn)(void *), void *arg, struct child_result *result);

/* Asserts the child aborted (SIGABRT) and its stderr contains each of the
 * NULL-terminated strings. */
void assert_child_aborts(int (*fn)(void *), void *arg, ...);

/* Asserts the child exited with status 0, and prints its stderr if not. */
void assert_child_succeeds(int (*fn)(void *), void *arg);

/* True under valgrind (then switches are ~100 times slower). */
bool under_valgrind(void);

/* True under valgrind or in a ThreadSanitizer build: then the library turns
 * its pool off by default. */
bool under_thread_tool(void);

/*
 * An event log for one thread's coroutines (no cmocka calls, so coroutine
 * bodies may record in it): log_event() appends, assert_log() compares
 * afterwards, on the thread that runs the test.
 */
void log_reset(void);
void log_event(int what);
int log_length(void);
void assert_log(const int *expected, int n);

/* Skips the calling test, printing why, on a platform without fork()
 * (WebAssembly). run_in_child() and the assert_child_ calls do it first. */
void skip_without_fork(void);

/* True when the tests run under qemu-user: tests/cross-check.sh sets
 * COTHREAD_TEST_UNDER_QEMU=1 (a program cannot tell by itself). */
bool under_qemu_user(void);

#endif
