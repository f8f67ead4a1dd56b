/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the library stops: one line on stderr naming the call and the
 * problem, then abort().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coroutine-int.h"

void co_die(const char *func, const char *problem)
{
    /* No stdio: after fork() in a threaded process its locks may be held. */
    char line[512];
    int len = snprintf(line, sizeof(line), "cothread: %s: %s\n", func, problem);
    size_t left = len < 0 ? 0 : (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
    const char *p = line;

    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, p, left);
        if (n <= 0) {
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    abort();
}

void co_die_failed(const char *func, const char *what, const char *call, int err)
{
    char problem[320];

    if (err != 0) {
        snprintf(problem, sizeof(problem), "%s: %s failed: %s", what, call,
                 strerror(err));
    } else {
        snprintf(problem, sizeof(problem), "%s: %s failed", what, call);
    }
    co_die(func, problem);
}

void co_pthread_check(int err, const char *what)
{
    if (err != 0) {
        char problem[256];
        snprintf(problem, sizeof(problem), "internal error: %s failed: %s", what,
                 strerror(err));
        co_die("coroutine backend", problem);
    }
}
