/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "harness.h"

bool under_valgrind(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        return true;
    }
#endif
    return getenv("VALGRIND") != NULL;
}

bool under_thread_tool(void)
{
#if defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return true;
#endif
#endif
    return under_valgrind();
}

bool under_qemu_user(void)
{
    const char *v = getenv("COTHREAD_TEST_UNDER_QEMU");
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

void skip_without_fork(void)
{
#ifdef __EMSCRIPTEN__
    print_message("skipped: WebAssembly has no processes to fork (Emscripten's "
                  "fork() fails with ENOSYS)\n");
    skip();
#endif
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

pid_t child_start(int *read_fd)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) != 0) {
        return -1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        return 0;
    }
    close(fds[1]);
    *read_fd = fds[0];
    return pid;
}

void child_finish(pid_t pid, int read_fd, struct child_result *result)
{
    double deadline = now() + (under_valgrind() ? 180.0 : 30.0);
    size_t used = 0;

    memset(result, 0, sizeof(*result));
    /* Read to the end before waiting, so a chatty child cannot block. */
    for (;;) {
        double left = deadline - now();
        struct pollfd pfd = { .fd = read_fd, .events = POLLIN };
        if (left <= 0) {
            result->timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        int ready = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (ready <= 0) {
            continue;
        }
        char buf[1024];
        ssize_t n = read(read_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t room = sizeof(result->output) - 1 - used;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(result->output + used, buf, take);
        used += take;
    }
    result->output[used] = '\0';
    close(read_fd);
    while (waitpid(pid, &result->status, 0) < 0 && errno == EINTR) {
    }
}

void run_in_child(int (*fn)(void *), void *arg, struct child_result *result)
{
    int fd;
    pid_t pid;

    skip_without_fork();
    pid = child_start(&fd);
    assert_true(pid >= 0);
    if (pid == 0) {
        int code = fn(arg);
        fflush(NULL);
        _exit(code);
    }
    child_finish(pid, fd, result);
}

void assert_child_aborts(int (*fn)(void *), void *arg, ...)
{
    struct child_result r;
    va_list ap;

    run_in_child(fn, arg, &r);
    if (r.timed_out || !WIFSIGNALED(r.status) || WTERMSIG(r.status) != SIGABRT) {
        print_error("child did not abort (timed out: %d, status 0x%x); stderr:\n%s\n",
                    r.timed_out, (unsigned)r.status, r.output);
        fail();
    }
    va_start(ap, arg);
    for (const char *want; (want = va_arg(ap, const char *)) != NULL;) {
        if (strstr(r.output, want) == NULL) {
            print_error("child's stderr lacks \"%s\":\n%s\n", want, r.output);
            fail();
        }
    }
    va_end(ap);
}

void assert_child_succeeds(int (*fn)(void *), void *arg)
{
    struct child_result r;

    run_in_child(fn, arg, &r);
    if (r.timed_out || !WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
        print_error("child failed (timed out: %d, status 0x%x); stderr:\n%s\n",
                    r.timed_out, (unsigned)r.status, r.output);
        fail();
    }
}

static int events[64];
static int events_len;

void log_reset(void)
{
    events_len = 0;
    memset(events, 0, sizeof(events));
}

void log_event(int what)
{
    if (events_len < (int)(sizeof(events) / sizeof(events[0]))) {
        events[events_len] = what;
    }
    events_len++;
}

int log_length(void)
{
    return events_len;
}

void assert_log(const int *expected, int n)
{
    assert_int_equal(events_len, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(events[i], expected[i]);
    }
}
