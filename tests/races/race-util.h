/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * race-util.h - helpers for the race cases (tests/races/).
 *
 * A case must put its threads' accesses in a fixed order in time without
 * creating a happens-before edge between them, or it would hide the very
 * race it seeds. The step counter does that: relaxed atomics order nothing
 * for ThreadSanitizer, and helgrind and DRD are told not to look at the
 * counter at all (DRD honours helgrind's request). Every edge a tool sees
 * between two threads of a case therefore comes from the library under
 * test or from the case's own mutexes. Include it after config.h.
 */
#ifndef RACE_UTIL_H
#define RACE_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef HAVE_VALGRIND_HELGRIND_H
#include <valgrind/helgrind.h>
#else
#define VALGRIND_HG_DISABLE_CHECKING(addr, len) ((void)(addr), (void)(len))
#endif

static _Atomic unsigned race_step;
/* Opened once every thread of run_threads() exists, so that creating the
 * later threads cannot order them after what the earlier ones did. */
static _Atomic unsigned race_gate;

/* Makes a case's own time-ordering variable invisible to helgrind and DRD. */
static inline void race_hide(void *addr, size_t len)
{
    VALGRIND_HG_DISABLE_CHECKING(addr, len);
}

__attribute__((constructor)) static void race_util_hide(void)
{
    race_hide(&race_step, sizeof race_step);
    race_hide(&race_gate, sizeof race_gate);
}

static inline void step_reach(unsigned n)
{
    atomic_store_explicit(&race_step, n, memory_order_relaxed);
}

static inline void step_wait(unsigned n)
{
    while (atomic_load_explicit(&race_step, memory_order_relaxed) < n) {
        sched_yield();
    }
}

/* Keeps a read the compiler would otherwise drop. */
static inline void use_value(int v)
{
    volatile int sink = v;
    (void)sink;
}

/* A correct case found a wrong value: the library is broken. */
static inline void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "race case failed: %s\n", what);
        exit(1);
    }
}

typedef void race_fn(void);

struct race_thread {
    race_fn *fn;
    pthread_t id;
};

static inline void *race_thread_main(void *arg)
{
    struct race_thread *t = arg;

    while (atomic_load_explicit(&race_gate, memory_order_relaxed) == 0) {
        sched_yield();
    }
    t->fn();
    return NULL;
}

#define RACE_MAX_THREADS 8

/* Runs fns[0..n-1] on threads of their own, together, and joins them. */
static inline void run_threads(race_fn *const fns[], int n)
{
    struct race_thread t[RACE_MAX_THREADS];

    check(n <= RACE_MAX_THREADS, "too many threads");
    for (int i = 0; i < n; i++) {
        t[i].fn = fns[i];
        check(pthread_create(&t[i].id, NULL, race_thread_main, &t[i]) == 0,
              "pthread_create");
    }
    atomic_store_explicit(&race_gate, 1, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
        check(pthread_join(t[i].id, NULL) == 0, "pthread_join");
    }
}

static inline void run_pair(race_fn *a, race_fn *b)
{
    run_threads((race_fn *const[]){ a, b }, 2);
}

#endif
