/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every failure point, one at a time. This program is linked with the
 * library's objects and tests/fault-inject.c (see there), and is two things:
 *
 * - With COTHREAD_FAULT_AT=k in its environment, a workload that goes
 *   through every part of the library that calls something that can fail:
 *   the load, leaders, both create calls, entering, nesting, several
 *   threads, pool reuse, the settings calls, the coroutine locks and exit.
 *   The k-th such call fails once. Where cothread_try_create() returns
 *   NULL, the workload checks the error and tries again, and carries on:
 *   the rest must work as if nothing had happened.
 *
 * - Without it, the driver: a cmocka group that runs the workload once
 *   without a fault to count the calls, then once for each k, each run a
 *   fresh process (faults at load need one), with a timeout and no core
 *   dump. Each run must end in exactly one of two ways: it exits 0 having
 *   seen the error come back from cothread_try_create() (or, for the
 *   spawner's calls, having gone on without it, as documented) and with
 *   the same trace as the run without a fault; or it aborts after printing
 *   one line "cothread: ..." that names the call that failed, and that is
 *   not an "internal error" when POSIX allows the failure.
 *
 * It sweeps twice: as the library runs natively, and with the spawner
 * thread it otherwise starts only under helgrind and DRD.
 *
 * make check-faults-memcheck runs the runs that exit 0 again under
 * memcheck, which must report nothing (leaks included).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "fault-inject.h"
#include "harness.h"

/* The workload's own threads must not count as the library's calls. */
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);

/* The workload (in the child) */

/* What the coroutines did, in order: a letter per step. */
static char trace[128];
static size_t trace_len;
static int error_returns;

/* The expected trace: see each step of workload() for its letters. */
#define EXPECTED_TRACE \
    "yyf" "yyf" "lmoLMO" "yyf" "yyf" "kuwW" "rrrrrRx" "yyf" "y" "yyf"

static void mark(char c)
{
    if (trace_len < sizeof(trace) - 1) {
        trace[trace_len++] = c;
    }
}

/* Something went wrong that is neither allowed outcome: say what and leave
 * with a status the driver reports. Callable from any thread. */
static _Noreturn void problem(const char *what)
{
    char line[256];
    int len = snprintf(line, sizeof(line), "faults: problem %s\n", what);

    if (len > 0) {
        (void)!write(STDERR_FILENO, line, (size_t)len);
    }
    _exit(3);
}

/* cothread_try_create() until it works: it may fail once, with the errno of
 * the injected fault, and must work the next time. */
static Coroutine *make(CoroutineEntry *entry)
{
    for (int tries = 0;; tries++) {
        Coroutine *co = cothread_try_create(entry);
        if (co != NULL) {
            return co;
        }
        if (tries > 0) {
            problem("cothread_try_create failed twice in a row");
        }
        if (!fault_fired()) {
            problem("cothread_try_create failed with no fault injected");
        }
        if (errno != fault_injected_errno()) {
            problem("cothread_try_create set another errno than the fault's");
        }
        error_returns++;
    }
}

static void coroutine_fn yield_twice(void *opaque)
{
    (void)opaque;
    mark('y');
    qemu_coroutine_yield();
    mark('y');
    qemu_coroutine_yield();
    mark('f');
}

static void run_to_end(Coroutine *co)
{
    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(co, NULL);
    }
}

/* Nesting, three deep: each level creates and enters the next. */
static void coroutine_fn leaf(void *opaque)
{
    (void)opaque;
    mark('l');
    qemu_coroutine_yield();
    mark('L');
}

static void coroutine_fn middle(void *opaque)
{
    /* The aborting create, from inside a coroutine. */
    Coroutine *co = qemu_coroutine_create(leaf);

    (void)opaque;
    qemu_coroutine_enter(co, NULL);
    mark('m');
    qemu_coroutine_yield();
    qemu_coroutine_enter(co, NULL);
    mark('M');
}

static void coroutine_fn outer(void *opaque)
{
    Coroutine *co = make(middle);

    (void)opaque;
    qemu_coroutine_enter(co, NULL);
    mark('o');
    qemu_coroutine_yield();
    qemu_coroutine_enter(co, NULL);
    mark('O');
}

/* Several threads, one after the other so that the calls keep their order:
 * one leaves a coroutine half-way for main to finish, one runs its own. */
static Coroutine *handed_over;

static void *hand_over(void *arg)
{
    (void)arg;
    (void)qemu_coroutine_self();
    handed_over = make(yield_twice);
    qemu_coroutine_enter(handed_over, NULL);
    return NULL;
}

static void *run_one(void *arg)
{
    (void)arg;
    run_to_end(make(yield_twice));
    return NULL;
}

static void in_thread(void *(*fn)(void *))
{
    pthread_t t;

    if (__real_pthread_create(&t, NULL, fn, NULL) != 0 ||
        pthread_join(t, NULL) != 0) {
        problem("the workload cannot run its own thread");
    }
}

/* The coroutine locks: a CoMutex handed over in line, a CoQueue wait that
 * gives the mutex up, and a coroutine holding five CoRwlocks for reading
 * (its list of held CoRwlocks grows twice) while a writer waits. */
static CoMutex mutex;
static CoQueue queue;
static CoRwlock rwlocks[5];

static void coroutine_fn holder(void *opaque)
{
    (void)opaque;
    qemu_co_mutex_lock(&mutex);
    mark('k');
    qemu_coroutine_yield();
    qemu_co_mutex_unlock(&mutex);
    mark('u');
}

static void coroutine_fn waiter(void *opaque)
{
    (void)opaque;
    qemu_co_mutex_lock(&mutex);
    mark('w');
    qemu_co_queue_wait(&queue, &mutex);
    mark('W');
    qemu_co_mutex_unlock(&mutex);
}

static void coroutine_fn reader(void *opaque)
{
    (void)opaque;
    for (int i = 0; i < 5; i++) {
        qemu_co_rwlock_rdlock(&rwlocks[i]);
        mark('r');
    }
    qemu_coroutine_yield();
    for (int i = 0; i < 5; i++) {
        qemu_co_rwlock_unlock(&rwlocks[i]);
    }
    mark('R');
}

static void coroutine_fn writer(void *opaque)
{
    (void)opaque;
    qemu_co_rwlock_wrlock(&rwlocks[0]);
    mark('x');
    qemu_co_rwlock_unlock(&rwlocks[0]);
}

static void settings(unsigned pool, size_t stack)
{
    if (cothread_set_pool_size(pool) != 0 || cothread_get_pool_size() != pool ||
        cothread_set_stack_size(stack) != 0 || cothread_get_stack_size() != stack) {
        problem("a settings call failed");
    }
}

static int workload(void)
{
    size_t stack = cothread_get_stack_size();
    Coroutine *co, *other;

    fault_main_started();
    /* The main thread's leader. */
    (void)qemu_coroutine_self();
    settings(2, stack);

    /* "yyf": the aborting create, entered three times. */
    run_to_end(qemu_coroutine_create(yield_twice));
    /* "yyf": the one that returns errors, on the pooled thread. */
    run_to_end(make(yield_twice));

    /* "lmoLMO": nesting. */
    co = make(outer);
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(co, NULL);

    /* "yyf": started on another thread, finished on this one. */
    in_thread(hand_over);
    qemu_coroutine_enter(handed_over, NULL);
    qemu_coroutine_enter(handed_over, NULL);
    /* "yyf": another thread's own coroutine. */
    in_thread(run_one);

    /* "kuwW": the holder yields with the mutex; the waiter lines up; the
     * holder's unlock hands it over; the waiter then waits in the queue
     * until woken from here. */
    co = make(holder);
    other = make(waiter);
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(other, NULL);
    qemu_coroutine_enter(co, NULL);
    if (!qemu_co_queue_next(&queue)) {
        problem("nobody waited in the queue");
    }

    /* "rrrrrRx": the writer waits for the reader. */
    co = make(reader);
    other = make(writer);
    qemu_coroutine_enter(co, NULL);
    qemu_coroutine_enter(other, NULL);
    qemu_coroutine_enter(co, NULL);

    /* A new stack size drops the idle threads; "yyf" leaves one idle, which
     * a pool of 0 drops. */
    stack += 65536;
    settings(1, stack);
    run_to_end(make(yield_twice));
    settings(0, stack);
    settings(1, stack);
    /* "y", "yyf": for exit, a suspended coroutine, one never entered and
     * an idle thread. */
    qemu_coroutine_enter(make(yield_twice), NULL);
    (void)make(yield_twice);
    run_to_end(make(yield_twice));

    /* The trace so far; the exit that follows stops what is left. */
    fprintf(stderr, "faults: done errors=%d trace=%s\n", error_returns, trace);
    return 0;
}

/* The driver */

static char self_path[PATH_MAX];

/* What one run did, from its stderr and status. */
struct run {
    struct child_result child;
    bool injected, at_load, done;
    char call[64];
    unsigned long k;
    int errors;
    char trace[sizeof(trace)];
    unsigned long calls;
    char seq[4200];
    char messages[1024];    /* its other lines: the library's, or problems */
    int message_lines;
};

static void parse(struct run *r, bool under_tool)
{
    char *save = NULL;

    for (char *line = strtok_r(r->child.output, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char where[16];
        if (sscanf(line, "faults: injected %lu %63s %*d %15s", &r->k, r->call,
                   where) == 3) {
            r->injected = true;
            r->at_load = strcmp(where, "at-load") == 0;
        } else if (sscanf(line, "faults: done errors=%d trace=%127s", &r->errors,
                          r->trace) == 2) {
            r->done = true;
        } else if (sscanf(line, "faults: calls %lu %4199s", &r->calls, r->seq) >= 1) {
            continue;
        } else if (under_tool && strncmp(line, "==", 2) == 0) {
            /* valgrind's own lines in a run that aborted on purpose */
            continue;
        } else {
            size_t used = strlen(r->messages);
            snprintf(r->messages + used, sizeof(r->messages) - used, "%s\n", line);
            r->message_lines++;
        }
    }
}

/* A run under way. */
struct pending {
    pid_t pid;
    int fd;
    bool wrapped;
};

/* Starts the workload in a fresh process with the k-th call failing (0:
 * none), under the command in wrapper if not NULL. */
static struct pending start_workload(unsigned long k, bool spawner,
                                     const char *wrapper)
{
    struct pending p = { 0, -1, wrapper != NULL };
    char at[32];

    snprintf(at, sizeof(at), "%lu", k);
    p.pid = child_start(&p.fd);
    assert_true(p.pid >= 0);
    if (p.pid == 0) {
        setenv("COTHREAD_FAULT_AT", at, 1);
        setenv("COTHREAD_FAULT_SPAWNER", spawner ? "1" : "0", 1);
        if (wrapper != NULL) {
            setenv("COTHREAD_FAULT_WRAPPER", wrapper, 1);
            execl("/bin/sh", "sh", "-c", "exec $COTHREAD_FAULT_WRAPPER \"$0\"",
                  self_path, (char *)NULL);
        } else {
            execl(self_path, self_path, (char *)NULL);
        }
        _exit(127);
    }
    return p;
}

static void finish_workload(struct pending p, struct run *r)
{
    memset(r, 0, sizeof(*r));
    child_finish(p.pid, p.fd, &r->child);
    parse(r, p.wrapped);
}

static void run_workload(unsigned long k, bool spawner, const char *wrapper,
                         struct run *r)
{
    finish_workload(start_workload(k, spawner, wrapper), r);
}

/* Runs at once, one per core of a two-core machine: a run's output stays
 * in its pipe (far less than a pipe holds) until it is read. */
#define BATCH 2

static const char *describe(const struct run *r)
{
    static char text[sizeof(r->child.output) + 256];

    snprintf(text, sizeof(text), "timed out: %d, status 0x%x, injected: %s, "
             "other lines:\n%s", r->child.timed_out, (unsigned)r->child.status,
             r->injected ? r->call : "nothing", r->messages);
    return text;
}

static bool exited_0(const struct run *r)
{
    return !r->child.timed_out && WIFEXITED(r->child.status) &&
           WEXITSTATUS(r->child.status) == 0;
}

enum outcome { ERROR_RETURN, ABSORBED, STOP, INTERNAL_STOP, OUTCOMES };
static const char *const outcome_names[OUTCOMES] = {
    "error returns", "spawner fallbacks", "clear stops", "internal errors",
};

/* How many runs ended each way, per call. */
static unsigned tally[FAULT_CALLS][OUTCOMES];
static unsigned points_total;

static int call_index(const char *name)
{
    for (int i = 0; i < FAULT_CALLS; i++) {
        if (strcmp(fault_calls[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* Checks one run against the two allowed outcomes; returns which. */
static enum outcome judge(const struct run *r, const char *ref_trace)
{
    int which = call_index(r->call);

    if (!r->injected || which < 0) {
        print_error("no fault was injected: %s\n", describe(r));
        fail();
    }
    if (exited_0(r)) {
        if (!r->done || strcmp(r->trace, ref_trace) != 0) {
            print_error("the run went on but did not do the same work (trace %s, "
                        "expected %s): %s\n", r->trace, ref_trace, describe(r));
            fail();
        }
        if (r->message_lines != 0) {
            print_error("the run went on but printed: %s\n", describe(r));
            fail();
        }
        if (r->errors == 1) {
            return ERROR_RETURN;
        }
        /* The spawner is an aid to helgrind and DRD: without its pipes or its
         * thread, the library creates threads itself (worker.c). */
        if (r->errors == 0 && r->at_load &&
            (which == FAULT_PIPE || which == FAULT_PTHREAD_CREATE)) {
            return ABSORBED;
        }
        print_error("the fault vanished: the run went on with %d error returns: %s\n",
                    r->errors, describe(r));
        fail();
    }
    if (r->child.timed_out || !WIFSIGNALED(r->child.status) ||
        WTERMSIG(r->child.status) != SIGABRT) {
        print_error("neither an error return nor an abort: %s\n", describe(r));
        fail();
    }
    if (r->message_lines != 1 || strncmp(r->messages, "cothread: ", 10) != 0 ||
        strstr(r->messages, r->call) == NULL) {
        print_error("the abort did not come with one line \"cothread: ...\" naming "
                    "%s: %s\n", r->call, describe(r));
        fail();
    }
    if (strstr(r->messages, "internal error") != NULL) {
        if (fault_calls[which].allowed) {
            print_error("an error POSIX allows was reported as an internal error: "
                        "%s\n", describe(r));
            fail();
        }
        return INTERNAL_STOP;
    }
    return STOP;
}

/* Whether each call was made to fail at least once, over both sweeps. */
static bool reached[FAULT_CALLS];
/* The runs that went on, for the memcheck pass. */
static unsigned long survivors[2][1024];
static unsigned survivor_count[2];

/* Judges run k of a sweep, whose run without a fault was ref. */
static void check_run(unsigned long k, bool spawner, const struct run *ref,
                      const struct run *r, unsigned per_call[][OUTCOMES])
{
    int expected = ref->seq[k - 1] - 'a';
    enum outcome how;
    int which;

    /* The calls come in one order from run to run (worker.c), so the k-th
     * is the one the run without a fault made k-th. */
    if (r->injected && (r->k != k || call_index(r->call) != expected)) {
        print_error("run %lu failed call %s, but the %lu-th call without a "
                    "fault was %s\n", k, r->call, k, fault_calls[expected].name);
        fail();
    }
    how = judge(r, ref->trace);
    which = call_index(r->call);
    reached[which] = true;
    per_call[which][how]++;
    tally[which][how]++;
    points_total++;
    if (how == ERROR_RETURN || how == ABSORBED) {
        assert_true(survivor_count[spawner] < 1024);
        survivors[spawner][survivor_count[spawner]++] = k;
    }
}

/*
 * In a sanitizer build, a fresh process costs ten times as much, and a run
 * that ends in an internal error (a call whose only error is a bad
 * argument) only prints and aborts: there is nothing for the sanitizer to
 * check. Such calls are then made to fail only at their first few points.
 */
#define THIN_KEEP 2

static bool thin_sweep(void)
{
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
    return true;
#endif
#endif
    return false;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void sweep(bool spawner)
{
    struct run *ref = malloc(sizeof(*ref));
    struct run *runs = malloc(BATCH * sizeof(*runs));
    unsigned per_call[FAULT_CALLS][OUTCOMES];
    unsigned seen[FAULT_CALLS] = { 0 };
    unsigned long n, *todo, todo_count = 0;
    struct timespec t0;

    assert_non_null(ref);
    assert_non_null(runs);
    memset(per_call, 0, sizeof(per_call));
    clock_gettime(CLOCK_MONOTONIC, &t0);

    /* Without a fault: the number of calls, which they are, and the trace. */
    run_workload(0, spawner, NULL, ref);
    if (!exited_0(ref) || !ref->done || ref->injected || ref->message_lines != 0 ||
        strcmp(ref->trace, EXPECTED_TRACE) != 0 || ref->calls == 0 ||
        strlen(ref->seq) != ref->calls) {
        print_error("the run without a fault failed (trace %s): %s\n", ref->trace,
                    describe(ref));
        fail();
    }
    n = ref->calls;
    survivors[spawner][survivor_count[spawner]++] = 0;
    todo = malloc(n * sizeof(*todo));
    assert_non_null(todo);
    for (unsigned long k = 1; k <= n; k++) {
        int which = ref->seq[k - 1] - 'a';
        if (!thin_sweep() || fault_calls[which].allowed || seen[which]++ < THIN_KEEP) {
            todo[todo_count++] = k;
        }
    }

    for (unsigned long first = 0; first < todo_count; first += BATCH) {
        struct pending batch[BATCH];
        unsigned long count = todo_count - first < BATCH ? todo_count - first : BATCH;

        for (unsigned long i = 0; i < count; i++) {
            batch[i] = start_workload(todo[first + i], spawner, NULL);
        }
        /* Every run of the batch is over before any is judged: a failure
         * leaves no process behind. */
        for (unsigned long i = 0; i < count; i++) {
            finish_workload(batch[i], &runs[i]);
        }
        for (unsigned long i = 0; i < count; i++) {
            check_run(todo[first + i], spawner, ref, &runs[i], per_call);
        }
    }
    /* One past the last: nothing left to fail. */
    run_workload(n + 1, spawner, NULL, &runs[0]);
    if (!exited_0(&runs[0]) || runs[0].injected || runs[0].calls != n) {
        print_error("run %lu, past the last call, did not run clean: %s\n", n + 1,
                    describe(&runs[0]));
        fail();
    }
    print_message("%s: %lu failure points, %lu of them run, %.1f s\n",
                  spawner ? "with the spawner" : "natively", n, todo_count,
                  seconds_since(&t0));
    for (int i = 0; i < FAULT_CALLS; i++) {
        const char *sep = ":";
        unsigned all = 0;
        for (int o = 0; o < OUTCOMES; o++) {
            all += per_call[i][o];
        }
        if (all == 0) {
            continue;
        }
        print_message("  %-26s %3u", fault_calls[i].name, all);
        for (int o = 0; o < OUTCOMES; o++) {
            if (per_call[i][o] != 0) {
                print_message("%s %u %s", sep, per_call[i][o], outcome_names[o]);
                sep = ",";
            }
        }
        print_message("\n");
    }
    free(todo);
    free(ref);
    free(runs);
}

static bool skip_here(void)
{
#ifdef __EMSCRIPTEN__
    print_message("skipped: WebAssembly has no processes to fork (Emscripten's "
                  "fork() fails with ENOSYS), and each failure point needs one\n");
    return true;
#endif
    if (under_qemu_user()) {
        print_message("skipped: qemu-user cannot start the fresh processes the "
                      "sweep needs\n");
        return true;
    }
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        /* Its processes would run natively (valgrind does not follow exec here),
         * as make check already runs them: make check-faults-memcheck is the
         * sweep under memcheck. */
        print_message("skipped: the sweep under valgrind is make check-faults-memcheck\n");
        return true;
    }
#endif
    return false;
}

static void test_sweep_native(void **state)
{
    (void)state;
    if (skip_here()) {
        skip();
    }
    sweep(false);
}

static void test_sweep_spawner(void **state)
{
    (void)state;
    if (skip_here()) {
        skip();
    }
    sweep(true);
}

/* Both sweeps together made every wrapped call fail at least once, and the
 * summary for the README. */
static void test_every_call_reached(void **state)
{
    unsigned totals[OUTCOMES] = { 0 };

    (void)state;
    if (skip_here()) {
        skip();
    }
    for (int i = 0; i < FAULT_CALLS; i++) {
        if (!reached[i]) {
            print_error("no run made %s fail\n", fault_calls[i].name);
            fail();
        }
        for (int o = 0; o < OUTCOMES; o++) {
            totals[o] += tally[i][o];
        }
    }
    print_message("%u failure points made to fail, over %d calls:", points_total,
                  FAULT_CALLS);
    for (int o = 0; o < OUTCOMES; o++) {
        print_message(" %u %s%s", totals[o], outcome_names[o],
                      o + 1 < OUTCOMES ? "," : "\n");
    }
}

/* The runs that went on, again under the wrapper command (memcheck): each
 * must exit 0, with the same trace, and the tool must report nothing. */
static void test_survivors_under_tool(void **state)
{
    const char *wrapper = getenv("COTHREAD_FAULTS_VALGRIND");
    struct run *r = malloc(BATCH * sizeof(*r));
    struct timespec t0;
    unsigned runs = 0;

    (void)state;
    if (skip_here()) {
        free(r);
        skip();
    }
    assert_non_null(r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int spawner = 0; spawner < 2; spawner++) {
        unsigned count = survivor_count[spawner];
        for (unsigned first = 0; first < count; first += BATCH) {
            struct pending batch[BATCH];
            unsigned last = first + BATCH - 1 < count ? first + BATCH - 1 : count - 1;

            for (unsigned i = first; i <= last; i++) {
                batch[i - first] = start_workload(survivors[spawner][i], spawner,
                                                  wrapper);
            }
            for (unsigned i = first; i <= last; i++) {
                finish_workload(batch[i - first], &r[i - first]);
            }
            for (unsigned i = first; i <= last; i++) {
                const struct run *done = &r[i - first];
                if (!exited_0(done) || !done->done ||
                    strcmp(done->trace, EXPECTED_TRACE) != 0 ||
                    done->message_lines != 0) {
                    print_error("run %lu%s under %s: %s\n", survivors[spawner][i],
                                spawner ? " (spawner)" : "", wrapper, describe(done));
                    fail();
                }
                runs++;
            }
        }
    }
    print_message("%u runs under %s, %.1f s\n", runs, wrapper, seconds_since(&t0));
    free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest sweeps[] = {
        cmocka_unit_test(test_sweep_native),
        cmocka_unit_test(test_sweep_spawner),
        cmocka_unit_test(test_every_call_reached),
    };
    const struct CMUnitTest sweeps_and_tool[] = {
        cmocka_unit_test(test_sweep_native),
        cmocka_unit_test(test_sweep_spawner),
        cmocka_unit_test(test_every_call_reached),
        cmocka_unit_test(test_survivors_under_tool),
    };
    const char *wrapper = getenv("COTHREAD_FAULTS_VALGRIND");
    ssize_t len;

    (void)argc;
    if (getenv("COTHREAD_FAULT_AT") != NULL) {
        return workload();
    }
    /* The child runs this same program: find it. */
    len = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
    if (len > 0) {
        self_path[len] = '\0';
    } else {
        snprintf(self_path, sizeof(self_path), "%s", argv[0]);
    }
    /* The memcheck runs only when there is a tool to run them under. */
    if (wrapper == NULL || *wrapper == '\0') {
        return cmocka_run_group_tests(sweeps, NULL, NULL);
    }
    return cmocka_run_group_tests(sweeps_and_tool, NULL, NULL);
}
