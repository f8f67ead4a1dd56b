/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tunables: their limits, their values, and the environment variables
 * that set them. The variables are read on first use; a bad value stops
 * the program at once, since a silently ignored setting is harder to debug.
 * The values sit behind a quiet lock: two threads touching the settings
 * must not be ordered by it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static size_t env_stack_size(void)
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

static unsigned env_pool_size(void)
{
    const char *text = getenv("COTHREAD_POOL_SIZE");
    unsigned long long n;

    if (text == NULL) {
        /* Under the analysis tools every coroutine gets a fresh thread: a
         * reused one would run two threads' coroutines in program order. */
        return co_under_analysis() ? 0 : CO_POOL_AUTO;
    }
    if (strcmp(text, "auto") == 0) {
        return CO_POOL_AUTO;
    }
    if (!parse_number(text, false, CO_POOL_SIZE_MAX, &n)) {
        char problem[256];
        snprintf(problem, sizeof(problem),
                 "COTHREAD_POOL_SIZE=\"%.40s\" is not a valid coroutine pool "
                 "size (a number from 0 to %u, or auto)", text, CO_POOL_SIZE_MAX);
        co_die("coroutine settings", problem);
    }
    return (unsigned)n;
}

static struct {
    struct cothread_lock_word lock;
    bool loaded;
    size_t stack_size;
    unsigned pool_size;
} settings;

/* Takes the lock with the environment read. Parsing happens outside the
 * lock, so that a bad value does not stop the program holding it. */
static void lock_loaded(void)
{
    co_quiet_lock(&settings.lock);
    co_unchecked(&settings, sizeof(settings));
    if (!settings.loaded) {
        co_quiet_unlock(&settings.lock);
        size_t stack_size = env_stack_size();
        unsigned pool_size = env_pool_size();
        co_quiet_lock(&settings.lock);
        if (!settings.loaded) {
            settings.stack_size = stack_size;
            settings.pool_size = pool_size;
            settings.loaded = true;
        }
    }
}

struct co_settings co_settings_get(void)
{
    struct co_settings now;

    lock_loaded();
    now.stack_size = settings.stack_size;
    now.pool_size = settings.pool_size;
    co_quiet_unlock(&settings.lock);
    return now;
}

size_t co_settings_stack_size(void)
{
    return co_settings_get().stack_size;
}

unsigned co_settings_pool_size(void)
{
    return co_settings_get().pool_size;
}

void co_settings_set_stack_size(size_t bytes)
{
    lock_loaded();
    settings.stack_size = co_round_to_page(bytes);
    co_quiet_unlock(&settings.lock);
}

unsigned co_settings_set_pool_size(unsigned n)
{
    unsigned before;

    lock_loaded();
    before = settings.pool_size;
    settings.pool_size = n;
    co_quiet_unlock(&settings.lock);
    return before;
}

/* fork() must not copy the lock in the middle of a change. */
static void fork_prepare(void)
{
    co_quiet_lock(&settings.lock);
}

static void fork_done(void)
{
    co_quiet_unlock(&settings.lock);
}

__attribute__((constructor)) static void settings_load(void)
{
    static const struct co_process_hooks hooks = {
        .fork_prepare = fork_prepare,
        .fork_parent = fork_done,
        .fork_child = fork_done,
    };

    co_process_watch(CO_STAGE_SETTINGS, &hooks);
}
