/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny version of make check-load's long-running load (tests/load): 200
 * coroutines suspended while 4 threads churn a few hundred operations,
 * then the thread count must come back to what it was before the first
 * coroutine plus the pool. RSS is not judged here (too few operations for
 * a warm-up to mean anything, and valgrind's own memory would swamp it);
 * the function that judges it in check-load is checked here instead, on
 * made-up samples, to show that it fails when it should.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "load/workload.h"

/*
 * Set explicitly (the default depends on the tools). Natively below the
 * live coroutines of the churn, so that threads are both reused and joined.
 * Off under valgrind and ThreadSanitizer, as the header advises for the
 * analysis tools: a pooled thread handed from one application thread's
 * coroutine to another's orders the two threads in the tools' eyes.
 */
static unsigned pool_size(void)
{
    return under_thread_tool() ? 0 : 8;
}

static void test_rss_judge_passes_flat_and_fails_growth(void **state)
{
    long s[LOAD_SAMPLES];
    struct load_rss_verdict v;

    /* Flat after warm-up, whatever the warm-up did. */
    for (int i = 0; i < LOAD_SAMPLES; i++) {
        s[i] = i < LOAD_WARMUP_SAMPLES ? 10000 * (i + 1) : 1000000;
    }
    assert_true(load_rss_judge(s, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, 5.0, &v));
    assert_true(v.ok);
    assert_int_equal(v.first, 1000000);
    assert_true(v.spread_pct == 0.0);

    /* One sample 4.9% up passes, 5.1% up fails, wherever it is. */
    s[60] = 1049000;
    assert_true(load_rss_judge(s, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, 5.0, &v));
    assert_true(v.ok);
    s[60] = 1051000;
    assert_true(load_rss_judge(s, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, 5.0, &v));
    assert_false(v.ok);
    assert_int_equal(v.max, 1051000);

    /* A steady leak: 0.1% per sample, 9% over the judged part. */
    for (int i = LOAD_WARMUP_SAMPLES; i < LOAD_SAMPLES; i++) {
        s[i] = 1000000 + 1000 * (i - LOAD_WARMUP_SAMPLES);
    }
    assert_true(load_rss_judge(s, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, 5.0, &v));
    assert_false(v.ok);
    assert_true(v.growth_pct > 8.9 && v.growth_pct < 9.1);

    /* A missing sample cannot be judged. */
    s[50] = -1;
    assert_false(load_rss_judge(s, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, 5.0, &v));
}

static void test_threads_judge(void **state)
{
    assert_true(load_threads_judge(65, 1, 64));
    assert_true(load_threads_judge(1, 1, 64));     /* a pool that kept none */
    assert_false(load_threads_judge(66, 1, 64));
    assert_true(load_threads_judge(66, 2, 64));    /* main and the spawner */
    assert_false(load_threads_judge(-1, 1, 64));   /* unreadable */
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

#ifdef UNDER_TSAN
static void *nothing(void *arg)
{
    return arg;
}
#endif

/* ThreadSanitizer starts a thread of its own at the first pthread_create():
 * start it with a plain thread, before the count is taken. */
static void start_tool_threads(void)
{
#ifdef UNDER_TSAN
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, nothing, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
#endif
}

static long threads_before(void)
{
    start_tool_threads();
    return load_status_field("Threads");
}

static void test_tiny_load(void **state)
{
    /* DRD's cost grows with the threads alive: 200 took minutes there. */
    size_t suspended = under_thread_tool() ? 40 : 200;
    struct load_config cfg;
    struct load_result *res = calloc(1, sizeof(*res));
    struct load_parked *parked;
    /* Before the first coroutine: the main thread, and the spawner when
     * running under helgrind or DRD (lib/worker.c keeps no other). */
    long baseline = threads_before();
    unsigned pool = pool_size();
    long now;

    memset(&cfg, 0, sizeof(cfg));
    cfg.churners = 4;
    cfg.ops = under_thread_tool() ? 100 : 1000;
#ifdef __EMSCRIPTEN__
    /* Every thread is a Web Worker with an engine of its own. */
    suspended = 20;
    cfg.churners = 2;
    cfg.ops = 100;
#endif
    parked = calloc(suspended, sizeof(*parked));
    assert_non_null(res);
    assert_non_null(parked);
    assert_int_equal(cothread_set_pool_size(pool), 0);
    assert_int_equal(cothread_get_pool_size(), pool);

    assert_int_equal(load_park(parked, suspended), suspended);
    cfg.parked = parked;
    cfg.parked_count = suspended;
    assert_true(load_churn(&cfg, res));
    if (res->errors > 0) {
        print_error("%s\n", res->first_error);
    }
    assert_int_equal(res->errors, 0);
    assert_int_equal(res->ops_done, cfg.ops);
    assert_int_equal(load_release(parked, suspended), 0);

    if (baseline < 1) {
        print_message("thread count not checked: /proc/self/status is unreadable\n");
    } else {
        now = load_threads_settled(baseline + (long)pool, 2000);
        print_message("threads: %ld before, %ld after (pool %u)\n", baseline, now, pool);
        assert_true(load_threads_judge(now, baseline, pool));
    }
    free(parked);
    free(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rss_judge_passes_flat_and_fails_growth),
        cmocka_unit_test(test_threads_judge),
        cmocka_unit_test(test_tiny_load),
    };
    return cmocka_run_group_tests_name("load", tests, NULL, NULL);
}
