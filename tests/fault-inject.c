/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection for tests/test-faults: the library's objects are linked
 * into that program with "ld --wrap" for every call that can fail, so their
 * references land here and the shipped library has no hook at all.
 *
 * Each wrapped call is counted, in the order the process makes them (the
 * library makes them in one order from run to run: see worker.c). With
 * COTHREAD_FAULT_AT=k in the environment, the k-th call fails once, with
 * the error a real system would give, and every other call goes through.
 * The environment is read in a constructor that runs before the library's
 * own, so faults reach the calls made at load time too.
 *
 * What happened is written to stderr as lines starting with "faults: ", so
 * that the driver can tell them from the library's messages:
 *   faults: injected K CALL ERRNO      when the fault fires (before any abort)
 *   faults: calls N SEQ                at exit: N calls in all, and which ones
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault-inject.h"

/* The real calls, which "ld --wrap" names __real_CALL. */
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);
int __real_pthread_attr_init(pthread_attr_t *attr);
int __real_pthread_attr_setstacksize(pthread_attr_t *attr, size_t size);
int __real_pthread_attr_destroy(pthread_attr_t *attr);
int __real_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr);
int __real_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr);
int __real_pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int __real_pthread_atfork(void (*prepare)(void), void (*parent)(void),
                          void (*child)(void));
int __real_atexit(void (*fn)(void));
int __real_pipe(int fds[2]);
int __real_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int __real_pthread_setspecific(pthread_key_t key, const void *value);
int __real_pthread_setcancelstate(int state, int *old);
bool __real_co_under_helgrind_or_drd(void);

/* The same order as enum fault_call. */
const struct fault_call_info fault_calls[FAULT_CALLS] = {
    { "calloc", ENOMEM, true },
    { "realloc", ENOMEM, true },
    { "pthread_create", EAGAIN, true },
    { "pthread_attr_init", ENOMEM, true },
    /* Its one error: a size the system cannot use. */
    { "pthread_attr_setstacksize", EINVAL, true },
    /* EINVAL only, for an attribute object that is not one. */
    { "pthread_attr_destroy", EINVAL, false },
    { "pthread_mutex_init", ENOMEM, true },
    { "pthread_cond_init", ENOMEM, true },
    /* No key left is what a real program meets. */
    { "pthread_key_create", EAGAIN, true },
    { "pthread_atfork", ENOMEM, true },
    /* atexit() sets no errno: 0 stands for "none". */
    { "atexit", 0, true },
    /* The descriptor table is full. */
    { "pipe", EMFILE, true },
    /* EINVAL only, for a bad "how". */
    { "pthread_sigmask", EINVAL, false },
    { "pthread_setspecific", ENOMEM, true },
    /* EINVAL only, for a bad state. */
    { "pthread_setcancelstate", EINVAL, false },
};

static unsigned long fail_at;       /* 0: count only */
static bool force_spawner;
static atomic_ulong calls;
static atomic_bool fired;
static atomic_int fired_err;
static atomic_bool main_started;
/* Which call each of the first calls was, for the report at exit. */
#define SEQ_MAX 4096
static _Atomic unsigned char seq[SEQ_MAX];

static void say(const char *line)
{
    size_t left = strlen(line);

    while (left > 0) {
        ssize_t n = write(STDERR_FILENO, line, left);
        if (n <= 0) {
            return;
        }
        line += n;
        left -= (size_t)n;
    }
}

/* Whether this call of `which` is the one to fail; says so if it is. */
static bool should_fail(enum fault_call which)
{
    unsigned long k = atomic_fetch_add(&calls, 1) + 1;

    if (k <= SEQ_MAX) {
        atomic_store(&seq[k - 1], (unsigned char)which);
    }
    if (k != fail_at) {
        return false;
    }
    atomic_store(&fired_err, fault_calls[which].err);
    atomic_store(&fired, true);
    char line[160];
    snprintf(line, sizeof(line), "faults: injected %lu %s %d %s\n", k,
             fault_calls[which].name, fault_calls[which].err,
             atomic_load(&main_started) ? "in-main" : "at-load");
    say(line);
    return true;
}

/* After the library's exit handler, which was registered after this one
 * and so runs before it: every call the process makes is counted by then. */
static void report_calls(void)
{
    unsigned long n = atomic_load(&calls);
    /* A digit or letter per call keeps the line short. */
    static char line[SEQ_MAX + 64];
    int len = snprintf(line, sizeof(line), "faults: calls %lu ", n);

    for (unsigned long i = 0; i < n && i < SEQ_MAX; i++) {
        line[len++] = (char)('a' + atomic_load(&seq[i]));
    }
    line[len++] = '\n';
    line[len] = '\0';
    say(line);
}

/* Priority 101 runs before the library's constructor (which has none). */
__attribute__((constructor(101))) static void fault_setup(void)
{
    const char *at = getenv("COTHREAD_FAULT_AT");
    const char *spawner = getenv("COTHREAD_FAULT_SPAWNER");

    force_spawner = spawner != NULL && strcmp(spawner, "1") == 0;
    if (at == NULL) {
        return;     /* the driver itself: no counting, no report */
    }
    fail_at = strtoul(at, NULL, 10);
    if (__real_atexit(report_calls) != 0) {
        say("faults: cannot register the report\n");
        abort();
    }
}

void fault_main_started(void)
{
    atomic_store(&main_started, true);
}

bool fault_fired(void)
{
    return atomic_load(&fired);
}

int fault_injected_errno(void)
{
    return atomic_load(&fired_err);
}

int fault_errno_of(const char *name)
{
    for (int i = 0; i < FAULT_CALLS; i++) {
        if (strcmp(fault_calls[i].name, name) == 0) {
            return fault_calls[i].err;
        }
    }
    return -1;
}

/* The wrappers. */

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail(FAULT_CALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size);
void *__wrap_realloc(void *p, size_t size)
{
    if (should_fail(FAULT_REALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, size);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg)
{
    if (should_fail(FAULT_PTHREAD_CREATE)) {
        return EAGAIN;
    }
    return __real_pthread_create(t, attr, start, arg);
}

int __wrap_pthread_attr_init(pthread_attr_t *attr);
int __wrap_pthread_attr_init(pthread_attr_t *attr)
{
    if (should_fail(FAULT_PTHREAD_ATTR_INIT)) {
        return ENOMEM;
    }
    return __real_pthread_attr_init(attr);
}

int __wrap_pthread_attr_setstacksize(pthread_attr_t *attr, size_t size);
int __wrap_pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
    if (should_fail(FAULT_PTHREAD_ATTR_SETSTACKSIZE)) {
        return EINVAL;
    }
    return __real_pthread_attr_setstacksize(attr, size);
}

int __wrap_pthread_attr_destroy(pthread_attr_t *attr);
int __wrap_pthread_attr_destroy(pthread_attr_t *attr)
{
    /* The object is destroyed all the same: a leak of the real one would
     * show up under memcheck as the test's doing, not the library's. */
    int err = __real_pthread_attr_destroy(attr);

    return should_fail(FAULT_PTHREAD_ATTR_DESTROY) ? EINVAL : err;
}

int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr);
int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
    if (should_fail(FAULT_PTHREAD_MUTEX_INIT)) {
        return ENOMEM;
    }
    return __real_pthread_mutex_init(m, attr);
}

int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr);
int __wrap_pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
    if (should_fail(FAULT_PTHREAD_COND_INIT)) {
        return ENOMEM;
    }
    return __real_pthread_cond_init(c, attr);
}

int __wrap_pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int __wrap_pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    if (should_fail(FAULT_PTHREAD_KEY_CREATE)) {
        return EAGAIN;
    }
    return __real_pthread_key_create(key, destructor);
}

int __wrap_pthread_atfork(void (*prepare)(void), void (*parent)(void),
                          void (*child)(void));
int __wrap_pthread_atfork(void (*prepare)(void), void (*parent)(void),
                          void (*child)(void))
{
    if (should_fail(FAULT_PTHREAD_ATFORK)) {
        return ENOMEM;
    }
    return __real_pthread_atfork(prepare, parent, child);
}

int __wrap_atexit(void (*fn)(void));
int __wrap_atexit(void (*fn)(void))
{
    if (should_fail(FAULT_ATEXIT)) {
        return -1;
    }
    return __real_atexit(fn);
}

int __wrap_pipe(int fds[2]);
int __wrap_pipe(int fds[2])
{
    if (should_fail(FAULT_PIPE)) {
        errno = EMFILE;
        return -1;
    }
    return __real_pipe(fds);
}

int __wrap_pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int __wrap_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    if (should_fail(FAULT_PTHREAD_SIGMASK)) {
        return EINVAL;
    }
    return __real_pthread_sigmask(how, set, old);
}

int __wrap_pthread_setspecific(pthread_key_t key, const void *value);
int __wrap_pthread_setspecific(pthread_key_t key, const void *value)
{
    if (should_fail(FAULT_PTHREAD_SETSPECIFIC)) {
        return ENOMEM;
    }
    return __real_pthread_setspecific(key, value);
}

int __wrap_pthread_setcancelstate(int state, int *old);
int __wrap_pthread_setcancelstate(int state, int *old)
{
    if (should_fail(FAULT_PTHREAD_SETCANCELSTATE)) {
        return EINVAL;
    }
    return __real_pthread_setcancelstate(state, old);
}

/* Not a failure point: COTHREAD_FAULT_SPAWNER=1 makes the library start its
 * spawner thread (otherwise only under helgrind and DRD), so that the
 * calls only the spawner makes (pipe(), its own pthread_create()) are
 * swept natively too. */
bool __wrap_co_under_helgrind_or_drd(void);
bool __wrap_co_under_helgrind_or_drd(void)
{
    return force_spawner || __real_co_under_helgrind_or_drd();
}
