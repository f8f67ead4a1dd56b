/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pool of idle coroutine threads: reuse, the cap, turning it off, and a
 * reused thread starting each coroutine like a fresh one. A thread-local
 * marker tells a reused thread from a fresh one (thread-local variables are
 * exactly what a reused thread keeps).
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static _Thread_local int marker;

#define MAX_BATCH 16

struct seen {
    int reused;                 /* saw the marker of an earlier coroutine */
    int usr1_blocked;
    int errno_at_start;
    char name[32];
};

static void coroutine_fn mark_and_mess_up(void *opaque)
{
    struct seen *s = opaque;
    sigset_t set, usr1;

    s->reused = marker;
    marker = 1;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    s->usr1_blocked = sigismember(&set, SIGUSR1);
    s->errno_at_start = errno;
#ifdef HAVE_PTHREAD_SETNAME_NP
    pthread_getname_np(pthread_self(), s->name, sizeof(s->name));
    pthread_setname_np(pthread_self(), "renamed");
#endif
    /* Change what a fresh thread would not have. */
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
    errno = EILSEQ;
    qemu_coroutine_yield();
}

/* Runs n coroutines side by side (all suspended at once), then finishes them;
 * returns how many ran on a reused thread. */
static int batch(int n, struct seen *seen)
{
    Coroutine *co[MAX_BATCH];
    int reused = 0;

    memset(seen, 0, sizeof(*seen) * (size_t)n);
    for (int i = 0; i < n; i++) {
        co[i] = qemu_coroutine_create(mark_and_mess_up);
        errno = 1000 + i;
        qemu_coroutine_enter(co[i], &seen[i]);
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(co[i], NULL);
        reused += seen[i].reused;
    }
    return reused;
}

static void test_threads_are_reused_up_to_the_cap(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);   /* empty the pool */
    assert_int_equal(cothread_set_pool_size(4), 0);
    assert_int_equal(batch(8, seen), 0);
    assert_int_equal(batch(8, seen), 4);     /* four idle threads were kept */
    assert_int_equal(batch(2, seen), 2);
}

static void test_pool_off_never_reuses(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(batch(4, seen), 0);
}

static void test_lowering_the_cap_releases_threads(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(8), 0);
    assert_int_equal(batch(8, seen), 0);
    assert_int_equal(cothread_set_pool_size(1), 0);
    assert_int_equal(batch(8, seen), 1);
}

static void test_new_stack_size_drops_idle_threads(void **state)
{
    struct seen seen[MAX_BATCH];
    size_t saved = cothread_get_stack_size();

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(4), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(cothread_set_stack_size(saved * 2), 0);
    assert_int_equal(batch(4, seen), 0);
    assert_int_equal(cothread_set_stack_size(saved), 0);
}

static void test_reused_thread_starts_fresh(void **state)
{
    struct seen seen[MAX_BATCH];

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(4), 0);
    batch(4, seen);
    assert_int_equal(batch(4, seen), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(seen[i].reused, 1);
        assert_int_equal(seen[i].usr1_blocked, 1);
        assert_int_equal(seen[i].errno_at_start, 1000 + i);
#ifdef HAVE_PTHREAD_SETNAME_NP
        assert_string_equal(seen[i].name, "coroutine");
#endif
    }
}

/* A chain of nested coroutines, each noting whether its thread was used
 * before (the thread-local marker). */
#define NEST_DEPTH 100
#define DEEP_NEST_DEPTH 164     /* 100 above the automatic pool's base */

struct nest {
    int depth;
    int limit;
    int reused[DEEP_NEST_DEPTH];
};

static struct nest nest;

/* A key destructor that asks the library where it is, as a thread leaves:
 * outside any coroutine (and not reading the freed object of the last). */
static pthread_key_t leaving_key;
static _Atomic int left_outside, left_inside;
/* The latest leave, pool_clock_ns(); under a mutex, not an atomic: 64-bit
 * atomics need libatomic on some targets (m68k). */
static pthread_mutex_t last_left_lock = PTHREAD_MUTEX_INITIALIZER;
static long long last_left_ns;

/* The clock of the pool's idle deadlines (the library's condition
 * variables use the monotonic one where they can be given a clock). */
static long long pool_clock_ns(void)
{
    struct timespec now;

#ifdef HAVE_PTHREAD_CONDATTR_SETCLOCK
    clock_gettime(CLOCK_MONOTONIC, &now);
#else
    clock_gettime(CLOCK_REALTIME, &now);
#endif
    return now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void note_leaving(void *value)
{
    long long now = pool_clock_ns();

    (void)value;
    /* The latest time first, then the count the test waits for. */
    pthread_mutex_lock(&last_left_lock);
    if (now > last_left_ns) {
        last_left_ns = now;
    }
    pthread_mutex_unlock(&last_left_lock);
    if (qemu_in_coroutine()) {
        left_inside++;
    } else {
        left_outside++;
    }
}

static void coroutine_fn nest_down(void *opaque)
{
    int level = nest.depth++;

    (void)opaque;
    nest.reused[level] = marker;
    marker = 1;
    pthread_setspecific(leaving_key, &nest);
    if (nest.depth < nest.limit) {
        qemu_coroutine_enter(qemu_coroutine_create(nest_down), NULL);
    }
}

static int nest_round_of(int depth)
{
    int reused = 0;

    memset(&nest, 0, sizeof(nest));
    nest.limit = depth;
    qemu_coroutine_enter(qemu_coroutine_create(nest_down), NULL);
    for (int i = 0; i < depth; i++) {
        reused += nest.reused[i];
    }
    return reused;
}

static int nest_round(void)
{
    return nest_round_of(NEST_DEPTH);
}

/* Threads of this process, or -1 where that cannot be read. */
static int thread_count(void)
{
    int n = -1;
#ifdef __linux__
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "Threads: %d", &n) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
#endif
    return n;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/*
 * A nest round after one that left every thread of the nest idle: all of
 * them are reused, beyond the 64 a fixed pool of the old default would
 * have kept. That holds while no thread stays idle for the pool's 2 s quiet
 * period, which a slow run (DRD, say) can exceed: then threads above 64 may
 * have left, and the round still reuses at least the 64 that always stay.
 * *since is when the round before began (the first thread went idle as it
 * unwound); it becomes this round's start.
 */
static void check_whole_nest_reused(struct timespec *since)
{
    struct timespec start;
    int reused;
    double took;

    clock_gettime(CLOCK_MONOTONIC, &start);
    reused = nest_round();
    took = seconds_since(since);
    *since = start;
    if (took < 1.5) {
        assert_int_equal(reused, NEST_DEPTH);
    } else {
        print_message("slow here (two nest rounds took %.1f s, against a 2 s quiet "
                      "period): %d of %d reused, at least 64 checked\n",
                      took, reused, NEST_DEPTH);
        assert_in_range(reused, 64, NEST_DEPTH);
    }
}

/* The first round of a nest, with every thread new: its start. */
static struct timespec first_nest_round(void)
{
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(nest_round(), 0);
    return start;
}

static void test_auto_pool_keeps_a_deep_nest(void **state)
{
    struct timespec since;

    assert_int_equal(cothread_set_pool_size(0), 0);   /* empty the pool */
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    since = first_nest_round();
    check_whole_nest_reused(&since);
    check_whole_nest_reused(&since);
    /* A fixed size keeps its meaning. */
    assert_int_equal(cothread_set_pool_size(10), 0);
    assert_int_equal(nest_round(), 10);
    assert_int_equal(nest_round(), 10);
}

/* Idle threads beyond the base leave after the quiet period. */
static void test_auto_pool_shrinks_when_idle(void **state)
{
    int before;
    struct timespec pause = { 0, 100 * 1000 * 1000 };

    if (thread_count() < 0) {
        print_message("skipped: no /proc/self/status to count threads\n");
        skip();
    }
    assert_int_equal(cothread_set_pool_size(0), 0);
    before = thread_count();
    left_outside = left_inside = 0;
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    assert_int_equal(nest_round(), 0);
    /* Two seconds of quiet, then a few for a loaded machine or valgrind.
     * Each thread that leaves runs the key destructor once. */
    for (int i = 0; i < 300 && left_outside < NEST_DEPTH - 64; i++) {
        nanosleep(&pause, NULL);
    }
    nanosleep(&pause, NULL);    /* none more than that */
    assert_int_equal(left_outside, NEST_DEPTH - 64);
    assert_int_equal(left_inside, 0);
    assert_int_equal(nest_round(), 64);
    assert_int_equal(cothread_set_pool_size(0), 0);
    /* The left threads are gone from the process, not only the pool. No
     * exact count: under qemu-user a joined thread may still be listed for
     * a while, so before may count one too many already. */
    for (int i = 0; i < 50 && thread_count() > before; i++) {
        nanosleep(&pause, NULL);
    }
    assert_true(thread_count() <= before);
}

/*
 * Threads idle since the same moment leave one after the other, their
 * turns 4 ms apart, not all at once: the last of 100 leaves at least 2 s +
 * 99 x 4 ms after they went idle. Without that, all would have left within
 * the first deadlines' 250 ms spread. Only a lower bound is checked: a
 * slow machine makes it later, never earlier.
 */
static void test_auto_pool_sheds_gradually(void **state)
{
    const int surplus = DEEP_NEST_DEPTH - 64;
    struct timespec pause = { 0, 100 * 1000 * 1000 };
    size_t saved = cothread_get_stack_size();
    long long idle_since, last_left;

    assert_int_equal(cothread_set_pool_size(0), 0);
    /* Small stacks: 164 threads on 32-bit targets and under emulators. */
    assert_int_equal(cothread_set_stack_size(cothread_stack_size_min()), 0);
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    left_outside = left_inside = 0;
    pthread_mutex_lock(&last_left_lock);
    last_left_ns = 0;
    pthread_mutex_unlock(&last_left_lock);
    idle_since = pool_clock_ns();   /* before the first thread goes idle */
    assert_int_equal(nest_round_of(DEEP_NEST_DEPTH), 0);
    for (int i = 0; i < 300 && left_outside < surplus; i++) {
        nanosleep(&pause, NULL);
    }
    assert_int_equal(left_outside, surplus);
    assert_int_equal(left_inside, 0);
    pthread_mutex_lock(&last_left_lock);
    last_left = last_left_ns;
    pthread_mutex_unlock(&last_left_lock);
    assert_true(last_left - idle_since >= 2000000000LL + (surplus - 1) * 4000000LL);
    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_stack_size(saved), 0);
}

/* A switch from a fixed size to the automatic pool keeps 64 of the threads
 * already idle: those wait without a deadline and would never leave. */
static void test_auto_after_fixed_keeps_the_base(void **state)
{
    struct timespec since;

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(NEST_DEPTH), 0);
    assert_int_equal(nest_round(), 0);
    left_outside = left_inside = 0;
    /* The threads stopped here are joined before the call returns. */
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    assert_int_equal(left_outside, NEST_DEPTH - 64);
    assert_int_equal(left_inside, 0);
    clock_gettime(CLOCK_MONOTONIC, &since);
    assert_int_equal(nest_round(), 64);
    check_whole_nest_reused(&since);
    /* Already automatic, or only the stack size set again: nothing ends. */
    left_outside = 0;
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    assert_int_equal(cothread_set_stack_size(cothread_get_stack_size()), 0);
    assert_int_equal(left_outside, 0);
    check_whole_nest_reused(&since);
    assert_int_equal(cothread_set_pool_size(0), 0);
}

/* Threads reused across application threads: under helgrind and DRD
 * (make check-valgrind) the library's reuse of an object must not be
 * reported as a race. */
#define SHARING_THREADS 3
#define SHARING_ROUNDS 30

static void coroutine_fn count_twice(void *opaque)
{
    int *count = opaque;

    ++*count;
    qemu_coroutine_yield();
    ++*count;
}

static void *share_pool(void *arg)
{
    int *count = arg;

    for (int i = 0; i < SHARING_ROUNDS; i++) {
        Coroutine *co = qemu_coroutine_create(count_twice);
        qemu_coroutine_enter(co, count);
        qemu_coroutine_enter(co, NULL);
    }
    return NULL;
}

static void test_pool_shared_by_threads(void **state)
{
    pthread_t threads[SHARING_THREADS];
    int counts[SHARING_THREADS] = { 0 };

    assert_int_equal(cothread_set_pool_size(0), 0);
    assert_int_equal(cothread_set_pool_size(2), 0);
    for (int i = 0; i < SHARING_THREADS; i++) {
        assert_int_equal(pthread_create(&threads[i], NULL, share_pool, &counts[i]), 0);
    }
    for (int i = 0; i < SHARING_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(counts[i], 2 * SHARING_ROUNDS);
    }
}

int main(void)
{
    if (pthread_key_create(&leaving_key, note_leaving) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_are_reused_up_to_the_cap),
        cmocka_unit_test(test_pool_off_never_reuses),
        cmocka_unit_test(test_lowering_the_cap_releases_threads),
        cmocka_unit_test(test_new_stack_size_drops_idle_threads),
        cmocka_unit_test(test_reused_thread_starts_fresh),
        cmocka_unit_test(test_pool_shared_by_threads),
        cmocka_unit_test(test_auto_pool_keeps_a_deep_nest),
        cmocka_unit_test(test_auto_pool_shrinks_when_idle),
        cmocka_unit_test(test_auto_after_fixed_keeps_the_base),
        cmocka_unit_test(test_auto_pool_sheds_gradually),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
