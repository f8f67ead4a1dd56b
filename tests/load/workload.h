/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The long-running load (issue 11 part 3), shared by tests/load/load.c (make
 * check-load: 10,000 suspended coroutines) and tests/test-load.c (make
 * check: a tiny version). Nothing here calls cmocka: coroutine bodies run on
 * other threads, so they only record, and the callers judge afterwards.
 */
#ifndef COTHREAD_TEST_LOAD_WORKLOAD_H
#define COTHREAD_TEST_LOAD_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "qemu-coroutine.h"

/* RSS samples: one every 1% of the operations, and one after the end. */
#define LOAD_SAMPLES 101
/* Warm-up: the first 10% of the operations, i.e. samples 0 to 9. */
#define LOAD_WARMUP_SAMPLES 10
/* Most coroutines one burst operation holds at once: with four churners,
 * two bursts at the same time overflow a pool of 64, so threads are also
 * created and joined after warm-up, not only reused. */
#define LOAD_BURST 32
/* Deepest nesting of one operation. */
#define LOAD_MAX_DEPTH 4

/* The coroutines held suspended while the churn runs. */
struct load_parked {
    Coroutine *co;
    long wakes;         /* resumes seen by the body */
    long resumes;       /* resumes done by the churner that owns it */
    bool release;       /* set before the last enter: return */
    bool finished;
};

struct load_config {
    long ops;                   /* operations, shared by the churners */
    int churners;               /* threads that churn */
    bool sample_rss;            /* read RSS every 1% of the operations */
    size_t leak_per_op;         /* bytes to leak per operation (can-fail demo) */
    struct load_parked *parked; /* may be NULL */
    size_t parked_count;
};

struct load_result {
    long ops_done;
    long coroutines;            /* created by the churners */
    long errors;                /* recorded state that was not what it should be */
    long rss[LOAD_SAMPLES];     /* bytes; rss[k] at operation k * ops / 100 */
    long threads[LOAD_SAMPLES]; /* the thread count at the same moments */
    double seconds;
    char first_error[160];
};

/* Creates n coroutines and enters each once, so that all are suspended in
 * a yield. Returns how many were created; on failure errno is
 * cothread_try_create()'s. */
size_t load_park(struct load_parked *parked, size_t n);

/* Finishes parked coroutines: each is entered once more and returns.
 * Returns the number whose counts were wrong. */
long load_release(struct load_parked *parked, size_t n);

/* Runs the churn on cfg->churners new threads and joins them. Returns
 * false (with errno) if a thread could not be started. */
bool load_churn(const struct load_config *cfg, struct load_result *res);

/* Resident set size in bytes from /proc/self/statm; -1 if unreadable. */
long load_rss_bytes(void);

/* A "Name: value" line of /proc/self/status ("Threads", "VmHWM"); the
 * VmHWM value is in kB. -1 if unreadable. */
long load_status_field(const char *name);

/* The thread count, waiting up to timeout_ms for it to fall to at most
 * want: a joined thread can stay listed for a moment after
 * pthread_join() returns, until the kernel has reaped it. */
long load_threads_settled(long want, int timeout_ms);

/* The judgement of the RSS samples, kept apart from the measurement so
 * that a unit test can show it fails when it should. */
struct load_rss_verdict {
    long first;     /* first sample after warm-up */
    long min, max, last;
    double spread_pct;  /* (max - min) / min after warm-up, in percent */
    double growth_pct;  /* (last - first) / first, in percent */
    bool ok;            /* spread_pct <= limit_pct */
};

/* samples[0 .. n-1]; the first `warmup` are not judged. False if fewer than
 * two remain or a sample is missing (-1). */
bool load_rss_judge(const long *samples, size_t n, size_t warmup, double limit_pct,
                    struct load_rss_verdict *v);

/* Whether the thread count came back: at most the threads that were there
 * before the first coroutine (the main thread, and the spawner the library
 * starts when loaded under helgrind or DRD) plus the idle pool. */
bool load_threads_judge(long now, long baseline, unsigned pool_size);

#endif
