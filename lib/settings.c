/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Limits on the tunables and parsing of the environment variables that set
 * them. A bad value in the environment stops the program at once: running
 * with a silently ignored setting would be harder to debug.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "coroutine-int.h"

static size_t page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

size_t co_round_to_page(size_t bytes)
{
    size_t page = page_size();
    return (bytes + page - 1) / page * page;
}

size_t co_stack_size_min(void)
{
    size_t min = 16384;
#ifdef _SC_THREAD_STACK_MIN
    long sys = sysconf(_SC_THREAD_STACK_MIN);
    if (sys > 0 && (size_t)sys > min) {
        min = (size_t)sys;
    }
#endif
    return co_round_to_page(min);
}

/* Parses a decimal number, with an optional k, m or g (binary) suffix when
 * suffixes are allowed, that is at most limit. */
static bool parse_number(const char *text, bool suffixes, unsigned long long limit,
                         unsigned long long *out)
{
    unsigned long long value = 0;
    unsigned shift = 0;
    const char *p = text;

    if (*p < '0' || *p > '9') {
        return false;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (value > (limit - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
    }
    switch (suffixes ? *p : '\0') {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
    if (*p != '\0' || value > (limit >> shift)) {
        return false;
    }
    *out = value << shift;
    return true;
}

size_t co_env_stack_size(void)
{
    const char *text = getenv("COTHREAD_STACK_SIZE");
    unsigned long long bytes;

    if (text == NULL) {
        return CO_STACK_SIZE_DEFAULT;
    }
    if (!parse_number(text, true, CO_STACK_SIZE_MAX, &bytes) || bytes < co_stack_size_min()) {
        char problem[256];
        snprintf(problem, sizeof(problem),
                 "COTHREAD_STACK_SIZE=\"%.40s\" is not a valid coroutine stack "
                 "size (bytes with an optional k, m or g suffix, from %zu to %zu)",
                 text, co_stack_size_min(), CO_STACK_SIZE_MAX);
        co_die("coroutine settings", problem);
    }
    return co_round_to_page((size_t)bytes);
}

unsigned co_env_pool_size(unsigned fallback)
{
    const char *text = getenv("COTHREAD_POOL_SIZE");
    unsigned long long n;

    if (text == NULL) {
        return fallback;
    }
    if (!parse_number(text, false, CO_POOL_SIZE_MAX, &n)) {
        char problem[256];
        snprintf(problem, sizeof(problem),
                 "COTHREAD_POOL_SIZE=\"%.40s\" is not a valid coroutine pool "
                 "size (a number from 0 to %u)", text, CO_POOL_SIZE_MAX);
        co_die("coroutine settings", problem);
    }
    return (unsigned)n;
}
