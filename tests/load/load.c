/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * make check-load: the long-running load of issue 11. 10,000 coroutines
 * are held suspended while 4 threads churn through a fixed number of
 * operations (create/enter/finish, with yields, nesting, bursts beyond the
 * pool and resumes of the suspended ones mixed in). Then:
 *
 * - RSS, sampled at every 1% of the operations, must stay flat after the
 *   warm-up (the first 10% of the operations): (max - min) / min of the
 *   samples from 10% to the end within 5%;
 * - once the suspended coroutines are released and the churners joined,
 *   the thread count must come back to at most what it was before the
 *   first coroutine (the main thread, plus the spawner the library starts
 *   when loaded under helgrind or DRD; lib/worker.c keeps no other thread)
 *   plus the pool size, which this program sets explicitly;
 * - every body must have seen what its churner expected.
 *
 * Exit status: 0 all held, 1 a check failed (a "FAIL" line says which),
 * 2 the program could not run (usage, or a limit of the machine, named).
 *
 * Two hidden options make it fail on purpose, so that make check-load can
 * show that the checks catch what they are for: --leak-per-op BYTES leaks
 * that much per operation in the test itself, --leak-threads N leaves N
 * more coroutines suspended at the end.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "workload.h"

#define EXIT_CHECK_FAILED 1
#define EXIT_CANNOT_RUN 2

/* What one thread costs beyond its stack's address space, for the memory
 * check: its touched stack pages, its kernel stack and task. */
#define THREAD_MEMORY_ESTIMATE (64 * 1024L)

struct options {
    long suspended;
    long churners;
    long ops;
    long pool;
    long stack_size;    /* 0: the library's */
    double limit_pct;
    long leak_per_op;
    long leak_threads;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(long bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

/* A number from a /proc or /sys file (its first field); -1 if unreadable. */
static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (f != NULL) {
        if (fscanf(f, "%ld", &v) != 1) {
            v = -1;
        }
        fclose(f);
    }
    return v;
}

/* A "Name: value kB" line of /proc/meminfo, in bytes; -1 if absent. */
static long meminfo(const char *name)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t len = strlen(name);
    long v = -1;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10) * 1024;
            break;
        }
    }
    fclose(f);
    return v;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;

    if (f == NULL) {
        return -1;
    }
    while ((ch = getc(f)) != EOF) {
        n += ch == '\n';
    }
    fclose(f);
    return n;
}

/* The load averages and the number of threads on the machine, from
 * /proc/loadavg ("0.52 0.58 0.59 2/1234 5678"). */
static void loadavg(char *text, size_t size, long *threads)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double a = 0, b = 0, c = 0;
    long running = 0, total = -1;

    if (f != NULL) {
        if (fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total) != 5) {
            total = -1;
        }
        fclose(f);
    }
    snprintf(text, size, "%.2f %.2f %.2f", a, b, c);
    if (threads != NULL) {
        *threads = total;
    }
}

__attribute__((format(printf, 1, 2), noreturn))
static void cannot_run(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "load: cannot run: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(EXIT_CANNOT_RUN);
}

/*
 * Whether the machine can hold the threads and their stacks, checked before
 * anything is created, so that a machine too small fails naming its limit
 * rather than somewhere in the middle.
 */
static void check_limits(const struct options *o, size_t stack_size)
{
    long threads = o->suspended + o->leak_threads + o->pool + 1 +
                   o->churners * (LOAD_BURST + LOAD_MAX_DEPTH + 2);
    long threads_max = read_long("/proc/sys/kernel/threads-max");
    long pid_max = read_long("/proc/sys/kernel/pid_max");
    long map_max = read_long("/proc/sys/vm/max_map_count");
    long maps_now = count_lines("/proc/self/maps");
    long available = meminfo("MemAvailable");
    long overcommit = read_long("/proc/sys/vm/overcommit_memory");
    long on_machine = -1;
    struct rlimit nproc, as;
    char avg[64];
    long page = sysconf(_SC_PAGESIZE);
    /* glibc maps each stack with its guard page as one mapping and then
     * protects the guard, which splits it in two. */
    long maps = 2 * threads + (maps_now > 0 ? maps_now : 0) + 64;

    loadavg(avg, sizeof(avg), &on_machine);
    if (getrlimit(RLIMIT_NPROC, &nproc) != 0) {
        nproc.rlim_cur = RLIM_INFINITY;
    }
    if (getrlimit(RLIMIT_AS, &as) != 0) {
        as.rlim_cur = RLIM_INFINITY;
    }
    printf("limits:  kernel.threads-max %ld, kernel.pid_max %ld, ulimit -u %ld%s, "
           "vm.max_map_count %ld, MemAvailable %.0f MiB; %ld threads on the machine\n",
           threads_max, pid_max,
           nproc.rlim_cur == RLIM_INFINITY ? -1L : (long)nproc.rlim_cur,
           geteuid() == 0 ? " (not enforced for root)" : "", map_max,
           mib(available), on_machine);
    printf("needs:   up to %ld threads, %ld memory maps, %.0f MiB of address space "
           "for stacks, about %.0f MiB of memory\n",
           threads, maps, mib(threads * ((long)stack_size + page)),
           mib(threads * THREAD_MEMORY_ESTIMATE));

    if (threads_max > 0 && on_machine > 0 && on_machine + threads > threads_max) {
        cannot_run("%s is %ld and the machine runs %ld threads already: raise it "
                   "(sysctl -w kernel.threads-max=...) or use --suspended",
                   "kernel.threads-max (/proc/sys/kernel/threads-max)", threads_max,
                   on_machine);
    }
    if (pid_max > 0 && on_machine > 0 && on_machine + threads > pid_max) {
        cannot_run("%s is %ld and the machine runs %ld threads already (each takes "
                   "a PID): raise it or use --suspended",
                   "kernel.pid_max (/proc/sys/kernel/pid_max)", pid_max, on_machine);
    }
    /* The kernel does not hold root to RLIMIT_NPROC. */
    if (nproc.rlim_cur != RLIM_INFINITY && geteuid() != 0 &&
        (long)nproc.rlim_cur < threads) {
        cannot_run("%s is %ld, below the %ld threads needed: raise it (ulimit -u) "
                   "or use --suspended",
                   "the process limit RLIMIT_NPROC (ulimit -u)", (long)nproc.rlim_cur,
                   threads);
    }
    if (map_max > 0 && maps > map_max) {
        cannot_run("%s is %ld, below the %ld memory maps needed (two per thread): "
                   "raise it (sysctl -w vm.max_map_count=...) or use --suspended",
                   "vm.max_map_count (/proc/sys/vm/max_map_count)", map_max, maps);
    }
    if (as.rlim_cur != RLIM_INFINITY &&
        (long)(as.rlim_cur / (rlim_t)(stack_size + (size_t)page)) < threads) {
        cannot_run("%s is %ld bytes, too little for %ld stacks of this size: "
                   "use a smaller --stack-size or raise it (ulimit -v)",
                   "the address-space limit RLIMIT_AS (ulimit -v)", (long)as.rlim_cur,
                   threads);
    }
    if (overcommit == 2) {
        long commit_free = meminfo("CommitLimit") - meminfo("Committed_AS");
        if (commit_free < threads * (long)stack_size) {
            cannot_run("%s: only %ld bytes may still be committed, too little for "
                       "%ld stacks: use a smaller --stack-size",
                       "vm.overcommit_memory is 2 (strict)", commit_free, threads);
        }
    }
    if (available > 0 && available < threads * THREAD_MEMORY_ESTIMATE) {
        cannot_run("%s is %ld bytes, less than the %ld threads need: free memory or "
                   "use --suspended",
                   "MemAvailable (/proc/meminfo)", available, threads);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: load [--suspended N] [--threads N] [--ops N] [--pool N]\n"
            "            [--stack-size BYTES] [--limit PERCENT]\n"
            "  --suspended N     coroutines held suspended during the churn (10000)\n"
            "  --threads N       threads that churn (4)\n"
            "  --ops N           operations, shared by the churners (400000)\n"
            "  --pool N          cothread_set_pool_size(N) before anything (64)\n"
            "  --stack-size B    cothread_set_stack_size(B) before anything\n"
            "                    (default: the library's)\n"
            "  --limit PERCENT   largest RSS spread allowed after warm-up (5)\n");
    exit(EXIT_CANNOT_RUN);
}

static long number(const char *opt, const char *text, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "load: %s wants a number from %ld to %ld, not '%s'\n", opt, min,
                max, text);
        exit(EXIT_CANNOT_RUN);
    }
    return v;
}

static void parse(int argc, char **argv, struct options *o)
{
    o->suspended = 10000;
    o->churners = 4;
    o->ops = 400000;
    o->pool = 64;
    o->stack_size = 0;
    o->limit_pct = 5.0;
    o->leak_per_op = 0;
    o->leak_threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        const char *arg = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(opt, "--help") == 0 || arg == NULL) {
            usage();
        }
        i++;
        if (strcmp(opt, "--suspended") == 0) {
            o->suspended = number(opt, arg, 0, 1000000);
        } else if (strcmp(opt, "--threads") == 0) {
            o->churners = number(opt, arg, 1, 256);
        } else if (strcmp(opt, "--ops") == 0) {
            o->ops = number(opt, arg, LOAD_SAMPLES - 1, 1000000000);
        } else if (strcmp(opt, "--pool") == 0) {
            o->pool = number(opt, arg, 0, 65536);
        } else if (strcmp(opt, "--stack-size") == 0) {
            o->stack_size = number(opt, arg, 1, 1L << 30);
        } else if (strcmp(opt, "--limit") == 0) {
            o->limit_pct = (double)number(opt, arg, 0, 100);
        } else if (strcmp(opt, "--leak-per-op") == 0) {
            o->leak_per_op = number(opt, arg, 0, 1L << 20);
        } else if (strcmp(opt, "--leak-threads") == 0) {
            o->leak_threads = number(opt, arg, 0, 1000);
        } else {
            usage();
        }
    }
}

static void refuse_tools(void)
{
#if defined(__SANITIZE_THREAD__)
    cannot_run("a --enable-sanitizer=thread build: ThreadSanitizer handles at most "
               "8,128 live threads");
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        cannot_run("under valgrind: it runs at most --max-threads threads, and slowly");
    }
#endif
}

int main(int argc, char **argv)
{
    struct options o;
    struct load_config cfg;
    struct load_result *res = calloc(1, sizeof(*res));
    struct load_parked *parked;
    struct load_rss_verdict v;
    char avg_before[64], avg_after[64];
    double t_start = now_seconds(), t;
    long baseline, threads_live, threads_end, wrong_release, peak_threads = 0;
    size_t n_parked = 0, total_parked;
    bool rss_judged, failed = false;

    /* Before anything: the threads there are before the first coroutine. */
    baseline = load_status_field("Threads");
    parse(argc, argv, &o);
    refuse_tools();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (baseline < 1 || load_rss_bytes() < 0) {
        cannot_run("/proc/self/status or /proc/self/statm is unreadable: this test "
                   "reads RSS and the thread count there");
    }
    /* Explicit settings, the same for every thread of the run (an idle
     * thread of another stack size would be dropped, not reused). */
    if (cothread_set_pool_size((unsigned)o.pool) != 0 ||
        (o.stack_size > 0 && cothread_set_stack_size((size_t)o.stack_size) != 0)) {
        cannot_run("the settings were refused (pool %ld, stack size %ld; the stack "
                   "size must be from %zu to 1 GiB)", o.pool, o.stack_size,
                   cothread_stack_size_min());
    }
    total_parked = (size_t)(o.suspended + o.leak_threads);
    parked = calloc(total_parked + 1, sizeof(*parked));
    if (res == NULL || parked == NULL) {
        cannot_run("out of memory");
    }
    loadavg(avg_before, sizeof(avg_before), NULL);
    printf("load:    %ld suspended coroutines, %ld churn threads, %ld operations, "
           "pool %ld (set explicitly), stacks %zu KiB (%s)\n",
           o.suspended, o.churners, o.ops, o.pool, cothread_get_stack_size() / 1024,
           o.stack_size > 0 ? "--stack-size" : "the library's default");
    if (o.leak_per_op > 0 || o.leak_threads > 0) {
        printf("demo:    failing on purpose: leaking %ld bytes per operation and "
               "%ld coroutines' threads\n", o.leak_per_op, o.leak_threads);
    }
    printf("machine: %ld CPUs, load average %s before\n", sysconf(_SC_NPROCESSORS_ONLN),
           avg_before);
    check_limits(&o, cothread_get_stack_size());

    /* The suspended ones; --leak-threads more that are never released. */
    t = now_seconds();
    n_parked = load_park(parked, total_parked);
    if (n_parked < total_parked) {
        int err = errno;
        fprintf(stderr, "load: cannot run: cothread_try_create failed after %zu "
                "coroutines: %s (the limits above looked sufficient; see "
                "/proc/sys/kernel/threads-max, ulimit -u, vm.max_map_count)\n",
                n_parked, strerror(err));
        return EXIT_CANNOT_RUN;
    }
    threads_live = load_status_field("Threads");
    printf("setup:   %zu suspended in %.2f s; then %ld threads, RSS %.1f MiB\n",
           n_parked, now_seconds() - t, threads_live, mib(load_rss_bytes()));

    cfg.ops = o.ops;
    cfg.churners = (int)o.churners;
    cfg.sample_rss = true;
    cfg.leak_per_op = (size_t)o.leak_per_op;
    cfg.parked = parked;
    cfg.parked_count = (size_t)o.suspended;
    if (!load_churn(&cfg, res)) {
        fprintf(stderr, "load: cannot run: a churn thread could not start: %s\n",
                strerror(errno));
        return EXIT_CANNOT_RUN;
    }
    for (size_t i = 0; i < LOAD_SAMPLES; i++) {
        if (res->threads[i] > peak_threads) {
            peak_threads = res->threads[i];
        }
    }
    printf("churn:   %ld operations (%ld coroutines) in %.2f s: %.0f operations/s, "
           "%ld wrong results\n", res->ops_done, res->coroutines, res->seconds,
           (double)res->ops_done / res->seconds, res->errors);

    rss_judged = load_rss_judge(res->rss, LOAD_SAMPLES, LOAD_WARMUP_SAMPLES, o.limit_pct,
                                &v);
    printf("RSS:     warm-up = the first 10%% of the operations; the %d samples from "
           "10%% to the end: min %.1f MiB, max %.1f MiB, first %.1f MiB, last %.1f MiB\n",
           LOAD_SAMPLES - LOAD_WARMUP_SAMPLES, mib(v.min), mib(v.max), mib(v.first),
           mib(v.last));
    printf("RSS:     spread (max - min) / min %.2f%% (limit %.0f%%), growth first to "
           "last %+.2f%%; at 0%% %.1f MiB; peak (VmHWM) %.1f MiB\n",
           v.spread_pct, o.limit_pct, v.growth_pct, mib(res->rss[0]),
           (double)load_status_field("VmHWM") / 1024.0);

    /* Release the suspended coroutines (the churners are joined). */
    t = now_seconds();
    wrong_release = load_release(parked, (size_t)o.suspended);
    printf("release: %ld finished in %.2f s, %ld with wrong counts\n", o.suspended,
           now_seconds() - t, wrong_release);
    threads_end = load_threads_settled(baseline + o.pool, 2000);
    printf("threads: %ld before the first coroutine, %ld with all suspended, up to %ld "
           "sampled while churning, %ld at the end (limit %ld + pool %ld = %ld)\n",
           baseline, threads_live, peak_threads, threads_end, baseline, o.pool,
           baseline + o.pool);
    loadavg(avg_after, sizeof(avg_after), NULL);
    printf("wall:    %.1f s; load average %s after\n", now_seconds() - t_start, avg_after);

    if (!rss_judged) {
        printf("FAIL rss: samples missing, RSS could not be judged\n");
        failed = true;
    } else if (!v.ok) {
        printf("FAIL rss: spread %.2f%% after warm-up is above the %.0f%% limit\n",
               v.spread_pct, o.limit_pct);
        failed = true;
    } else {
        printf("PASS rss: spread %.2f%% <= %.0f%%\n", v.spread_pct, o.limit_pct);
    }
    if (!load_threads_judge(threads_end, baseline, (unsigned)o.pool)) {
        printf("FAIL threads: %ld at the end, above %ld (%ld before the first "
               "coroutine + pool %ld)\n", threads_end, baseline + o.pool, baseline,
               o.pool);
        failed = true;
    } else {
        printf("PASS threads: %ld <= %ld\n", threads_end, baseline + o.pool);
    }
    if (res->errors > 0 || wrong_release > 0 || res->ops_done != o.ops) {
        printf("FAIL results: %ld wrong in the churn (first: %s), %ld wrong at "
               "release, %ld of %ld operations done\n", res->errors,
               res->errors > 0 ? res->first_error : "none", wrong_release,
               res->ops_done, o.ops);
        failed = true;
    } else {
        printf("PASS results: every body saw what its churner expected\n");
    }
    free(parked);
    free(res);
    /* The --leak-threads coroutines are still suspended: the library
     * abandons them at exit, as it documents. */
    return failed ? EXIT_CHECK_FAILED : 0;
}
