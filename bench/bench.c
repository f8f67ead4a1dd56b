/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cothread's benchmark. Every figure is measured in the same run as its
 * floor (two plain threads ping-ponging through one mutex and one condition
 * variable), in several interleaved repetitions, and reported as median, min
 * and max nanoseconds per operation. Run it with `make bench`; see --help.
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <ucontext.h>
#endif
#ifdef __linux__
#include <linux/futex.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#endif

#include "qemu-coroutine.h"

enum metric {
    M_FLOOR,
    M_FUTEX,
    M_RT_0,
    M_RT_100,
    M_RT_1000,
    M_RT_10000,
    M_CREATE,
    M_PTHREAD,
    M_CREATE_10000,
    M_UCONTEXT,
    M_LONGJMP,
    M_PMUTEX,
    M_COMUTEX,
    M_HANDOVER,
    M_COUNT
};

static const struct {
    const char *name;
    const char *what;
    int suspended;      /* for round trips: coroutines suspended meanwhile */
} metrics[M_COUNT] = {
    [M_FLOOR] = { "floor_mutex_condvar", "round trip, two threads, one mutex + condvar", -1 },
    [M_FUTEX] = { "floor_futex", "round trip, two threads, futex pair (information)", -1 },
    [M_RT_0] = { "roundtrip_n0", "enter + yield, 0 others suspended", 0 },
    [M_RT_100] = { "roundtrip_n100", "enter + yield, 100 others suspended", 100 },
    [M_RT_1000] = { "roundtrip_n1000", "enter + yield, 1,000 others suspended", 1000 },
    [M_RT_10000] = { "roundtrip_n10000", "enter + yield, 10,000 others suspended", 10000 },
    [M_CREATE] = { "create_enter_finish", "create + enter + finish, empty body (pool on)", -1 },
    [M_PTHREAD] = { "pthread_create_join", "pthread_create + join, empty thread", -1 },
    [M_CREATE_10000] = { "create_10000_suspended", "create + enter + yield of 10,000 (ns each)", -1 },
    [M_UCONTEXT] = { "ucontext_swap", "round trip, swapcontext() stack switching (information)", -1 },
    [M_LONGJMP] = { "longjmp_swap", "round trip, _setjmp/_longjmp stack switching as QEMU does (information)", -1 },
    [M_PMUTEX] = { "pthread_mutex_uncontended", "pthread_mutex_lock + unlock, uncontended", -1 },
    [M_COMUTEX] = { "comutex_uncontended", "qemu_co_mutex_lock + unlock, uncontended, in a coroutine", -1 },
    [M_HANDOVER] = { "comutex_handover", "CoMutex handed from one coroutine to a waiting one", -1 },
};

struct options {
    long iterations;
    int repetitions;
    int max_suspended;
    bool pin;
    bool quick;
    const char *csv;
    const char *plot;
};

static double samples[M_COUNT][64];
static int nsamples[M_COUNT];

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void record(enum metric m, double ns)
{
    if (nsamples[m] < 64) {
        samples[m][nsamples[m]++] = ns;
    }
}

/* The floor: two threads hand a turn back and forth through one mutex and
 * one condition variable, the least a thread handoff can cost. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int turn;
    long rounds;
} pp = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };

static void *pp_partner(void *arg)
{
    pthread_mutex_lock(&pp.lock);
    for (long i = 0; i < pp.rounds; i++) {
        while (pp.turn != 1) {
            pthread_cond_wait(&pp.cond, &pp.lock);
        }
        pp.turn = 0;
        pthread_cond_signal(&pp.cond);
    }
    pthread_mutex_unlock(&pp.lock);
    return arg;
}

static double measure_floor(long rounds)
{
    pthread_t partner;
    double start, end;

    pp.turn = 0;
    pp.rounds = rounds;
    pthread_create(&partner, NULL, pp_partner, NULL);
    pthread_mutex_lock(&pp.lock);
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        pp.turn = 1;
        pthread_cond_signal(&pp.cond);
        while (pp.turn != 0) {
            pthread_cond_wait(&pp.cond, &pp.lock);
        }
    }
    end = now_ns();
    pthread_mutex_unlock(&pp.lock);
    pthread_join(partner, NULL);
    return (end - start) / (double)rounds;
}

#ifdef __linux__
static _Atomic int futex_word[2];
static long futex_rounds;

static void futex_wait_for(int idx)
{
    while (atomic_exchange(&futex_word[idx], 0) == 0) {
        syscall(SYS_futex, &futex_word[idx], FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
}

static void futex_post(int idx)
{
    atomic_store(&futex_word[idx], 1);
    syscall(SYS_futex, &futex_word[idx], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_partner(void *arg)
{
    for (long i = 0; i < futex_rounds; i++) {
        futex_wait_for(1);
        futex_post(0);
    }
    return arg;
}

static double measure_futex(long rounds)
{
    pthread_t partner;
    double start, end;

    futex_rounds = rounds;
    atomic_store(&futex_word[0], 0);
    atomic_store(&futex_word[1], 0);
    pthread_create(&partner, NULL, futex_partner, NULL);
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        futex_post(1);
        futex_wait_for(0);
    }
    end = now_ns();
    pthread_join(partner, NULL);
    return (end - start) / (double)rounds;
}
#endif

#ifdef __GLIBC__
/* What a round trip costs with stack switching, for comparison: glibc's
 * swapcontext(), which also saves and restores the signal mask. */
static ucontext_t uc_main, uc_co;
static long uc_rounds;

static void uc_body(void)
{
    for (;;) {
        swapcontext(&uc_co, &uc_main);
    }
}

static double measure_ucontext(long rounds)
{
    static char stack[64 * 1024];
    double start, end;

    uc_rounds = rounds;
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = stack;
    uc_co.uc_stack.ss_size = sizeof(stack);
    uc_co.uc_link = &uc_main;
    makecontext(&uc_co, uc_body, 0);
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        swapcontext(&uc_main, &uc_co);
    }
    end = now_ns();
    return (end - start) / (double)rounds;
}

/* QEMU's ucontext backend: makecontext() only to start the stack, then
 * _setjmp()/_longjmp(), which leave the signal mask alone (no syscall). */
static jmp_buf jb_main, jb_co;

static void jb_body(void)
{
    if (!_setjmp(jb_co)) {
        _longjmp(jb_main, 1);           /* started: back to the caller */
    }
    for (;;) {
        if (!_setjmp(jb_co)) {
            _longjmp(jb_main, 1);
        }
    }
}

static double measure_longjmp(long rounds)
{
    static char stack[64 * 1024];
    static ucontext_t uc_start;
    double start, end;

    getcontext(&uc_start);
    uc_start.uc_stack.ss_sp = stack;
    uc_start.uc_stack.ss_size = sizeof(stack);
    uc_start.uc_link = NULL;
    makecontext(&uc_start, jb_body, 0);
    if (!_setjmp(jb_main)) {
        setcontext(&uc_start);
    }
    start = now_ns();
    for (volatile long i = 0; i < rounds; i++) {
        if (!_setjmp(jb_main)) {
            _longjmp(jb_co, 1);
        }
    }
    end = now_ns();
    return (end - start) / (double)rounds;
}
#endif

static void coroutine_fn yield_until_done(void *opaque)
{
    bool *done = opaque;
    while (!*done) {
        qemu_coroutine_yield();
    }
}

static double measure_round_trip(long rounds)
{
    static bool done;
    Coroutine *co = qemu_coroutine_create(yield_until_done);
    double start, end;

    done = false;
    qemu_coroutine_enter(co, &done);
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        qemu_coroutine_enter(co, NULL);
    }
    end = now_ns();
    done = true;
    qemu_coroutine_enter(co, NULL);
    return (end - start) / (double)rounds;
}

static double measure_pthread_mutex(long rounds)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double start = now_ns();

    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    return (now_ns() - start) / (double)rounds;
}

struct lock_loop {
    CoMutex mutex;
    long rounds;
    double ns;
};

static void coroutine_fn lock_unlock_loop(void *opaque)
{
    struct lock_loop *l = opaque;
    double start = now_ns();

    for (long i = 0; i < l->rounds; i++) {
        qemu_co_mutex_lock(&l->mutex);
        qemu_co_mutex_unlock(&l->mutex);
    }
    l->ns = (now_ns() - start) / (double)l->rounds;
}

static double measure_comutex(long rounds)
{
    static struct lock_loop l;

    l.rounds = rounds;
    qemu_coroutine_enter(qemu_coroutine_create(lock_unlock_loop), &l);
    return l.ns;
}

/*
 * Two coroutines take turns holding one CoMutex. The holder unlocks (the
 * waiter becomes the holder), asks again (and waits), and the waiter runs:
 * each turn is one hand-over, and main's enter drives one turn.
 */
static CoMutex turn_mutex;
static bool turns_done;

static void coroutine_fn take_turns(void *opaque)
{
    qemu_co_mutex_lock(&turn_mutex);
    while (!turns_done) {
        qemu_coroutine_yield();
        qemu_co_mutex_unlock(&turn_mutex);
        qemu_co_mutex_lock(&turn_mutex);
    }
    qemu_co_mutex_unlock(&turn_mutex);
}

static double measure_handover(long rounds)
{
    Coroutine *co[2] = {
        qemu_coroutine_create(take_turns), qemu_coroutine_create(take_turns),
    };
    double start, end;

    turns_done = false;
    qemu_coroutine_enter(co[0], NULL);      /* holds, yields */
    qemu_coroutine_enter(co[1], NULL);      /* waits */
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        /* The holder hands over and waits; the other takes it and yields. */
        qemu_coroutine_enter(co[i % 2], NULL);
    }
    end = now_ns();
    turns_done = true;
    qemu_coroutine_enter(co[rounds % 2], NULL);
    return (end - start) / (double)rounds;
}

static void coroutine_fn empty_body(void *opaque)
{
}

static double measure_create(long rounds)
{
    double start, end;

    qemu_coroutine_enter(qemu_coroutine_create(empty_body), NULL);  /* warm the pool */
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(empty_body), NULL);
    }
    end = now_ns();
    return (end - start) / (double)rounds;
}

static void *empty_thread(void *arg)
{
    return arg;
}

static double measure_pthread(long rounds)
{
    double start, end;
    pthread_attr_t attr;

    /* Same stack size as a coroutine thread, for a like-for-like cost. */
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cothread_get_stack_size());
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        pthread_t t;
        pthread_create(&t, &attr, empty_thread, NULL);
        pthread_join(t, NULL);
    }
    end = now_ns();
    pthread_attr_destroy(&attr);
    return (end - start) / (double)rounds;
}

/* The suspended population for the round trips at N > 0. */
static Coroutine **parked;
static int nparked;
static bool parked_done;

static double park_up_to(int n)
{
    double start = now_ns();
    int from = nparked;

    for (; nparked < n; nparked++) {
        parked[nparked] = qemu_coroutine_create(yield_until_done);
        qemu_coroutine_enter(parked[nparked], &parked_done);
    }
    return nparked > from ? (now_ns() - start) / (double)(nparked - from) : 0;
}

static void release_parked(void)
{
    parked_done = true;
    for (int i = 0; i < nparked; i++) {
        qemu_coroutine_enter(parked[i], NULL);
    }
    nparked = 0;
    parked_done = false;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(enum metric m)
{
    double sorted[64];
    int n = nsamples[m];

    if (n == 0) {
        return 0;
    }
    memcpy(sorted, samples[m], sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double extreme(enum metric m, int sign)
{
    double best = samples[m][0];
    for (int i = 1; i < nsamples[m]; i++) {
        if ((samples[m][i] - best) * sign > 0) {
            best = samples[m][i];
        }
    }
    return best;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench [options]\n"
            "  --iterations N   round trips per measurement (default 20000)\n"
            "  --repetitions N  interleaved repetitions (default 5, at most 64)\n"
            "  --max-suspended N  largest suspended population (default 10000)\n"
            "  --pin            run on CPU 0 only (stable figures)\n"
            "  --quick          floor and N=0 round trip only (for valgrind)\n"
            "  --csv FILE       also write the table as CSV\n"
            "  --plot FILE.png  plot round trip against N with gnuplot\n");
}

static void parse(int argc, char **argv, struct options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--pin") == 0) {
            o->pin = true;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (v != NULL && strcmp(a, "--iterations") == 0) {
            o->iterations = atol(v), i++;
        } else if (v != NULL && strcmp(a, "--repetitions") == 0) {
            o->repetitions = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--max-suspended") == 0) {
            o->max_suspended = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--csv") == 0) {
            o->csv = v, i++;
        } else if (v != NULL && strcmp(a, "--plot") == 0) {
            o->plot = v, i++;
        } else {
            usage(stderr);
            exit(2);
        }
    }
    if (o->iterations < 1 || o->repetitions < 1 || o->repetitions > 64 ||
        o->max_suspended < 0) {
        usage(stderr);
        exit(2);
    }
}

static void pin_to_cpu0(void)
{
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        perror("bench: sched_setaffinity");
        exit(1);
    }
#else
    fprintf(stderr, "bench: --pin is only supported on Linux; use taskset\n");
    exit(2);
#endif
}

static void plot(const char *png, const struct options *o)
{
    char data[] = "/tmp/cothread-bench-XXXXXX";
    int fd = mkstemp(data);
    FILE *f, *gp;

    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        perror("bench: plot data");
        return;
    }
    for (enum metric m = M_RT_0; m <= M_RT_10000; m++) {
        if (nsamples[m] > 0) {
            fprintf(f, "%d %.1f %.1f %.1f\n", metrics[m].suspended, median(m),
                    extreme(m, -1), extreme(m, 1));
        }
    }
    fclose(f);
    gp = popen("gnuplot", "w");
    if (gp == NULL) {
        fprintf(stderr, "bench: gnuplot not available, no plot\n");
    } else {
        fprintf(gp,
                "set terminal png size 800,500\nset output '%s'\n"
                "set title 'cothread: enter + yield round trip vs. suspended coroutines%s'\n"
                "set xlabel 'coroutines suspended meanwhile (0 is drawn at 1)'\nset ylabel 'ns per round trip'\n"
                "set logscale x\nset xrange [0.5:20000]\nset yrange [0:*]\n"
                "plot '%s' using ($1 == 0 ? 1 : $1):2:3:4 with yerrorlines title 'median (min-max)', "
                "%.1f title 'mutex + condvar floor' with lines dashtype 2\n",
                png, o->pin ? ", pinned to one CPU" : "", data, median(M_FLOOR));
        if (pclose(gp) != 0) {
            fprintf(stderr, "bench: gnuplot failed, no plot\n");
        } else {
            printf("plot written to %s\n", png);
        }
    }
    remove(data);
}

static void report(const struct options *o, long rss_before, long rss_parked, long peak)
{
    FILE *csv = NULL;

    if (o->csv != NULL && (csv = fopen(o->csv, "w")) == NULL) {
        perror(o->csv);
    }
    if (csv != NULL) {
        fprintf(csv, "metric,description,median_ns,min_ns,max_ns,samples\n");
    }
    printf("\n%-24s %11s %11s %11s  %s\n", "metric", "median ns", "min ns", "max ns",
           "what");
    for (enum metric m = 0; m < M_COUNT; m++) {
        if (nsamples[m] == 0) {
            continue;
        }
        printf("%-24s %11.0f %11.0f %11.0f  %s\n", metrics[m].name, median(m),
               extreme(m, -1), extreme(m, 1), metrics[m].what);
        if (csv != NULL) {
            fprintf(csv, "%s,\"%s\",%.1f,%.1f,%.1f,%d\n", metrics[m].name, metrics[m].what,
                    median(m), extreme(m, -1), extreme(m, 1), nsamples[m]);
        }
    }
    if (rss_parked > 0) {
        int n = o->max_suspended;
        double per = n > 0 ? (double)(rss_parked - rss_before) / n : 0;
        printf("\nmemory with %d coroutines suspended: RSS %.1f MiB (+%.1f KiB each, "
               "/proc/self/statm); peak RSS of the run %.1f MiB (getrusage)\n", n,
               rss_parked / 1024.0, per, peak / 1024.0);
        if (csv != NULL) {
            fprintf(csv, "rss_suspended_kib,\"RSS with %d suspended\",%ld,%ld,%ld,1\n", n,
                    rss_parked, rss_parked, rss_parked);
            fprintf(csv, "rss_per_coroutine_kib,\"RSS per suspended coroutine\",%.1f,%.1f,%.1f,1\n",
                    per, per, per);
            fprintf(csv, "peak_rss_kib,\"peak RSS of the run\",%ld,%ld,%ld,1\n", peak, peak, peak);
        }
    }

    printf("\nratios (medians, same run%s):\n", o->pin ? ", pinned to CPU 0" : "");
    printf("  round trip N=0 / mutex+condvar floor      %6.2f  (target <= 1.10)\n",
           median(M_RT_0) / median(M_FLOOR));
    if (nsamples[M_RT_10000] > 0) {
        printf("  round trip N=10,000 / round trip N=0      %6.2f  (target <= 1.10)\n",
               median(M_RT_10000) / median(M_RT_0));
    }
    if (nsamples[M_CREATE] > 0) {
        printf("  create+enter+finish / round trip N=0      %6.2f  (target <= 1.50)\n",
               median(M_CREATE) / median(M_RT_0));
        printf("  pthread_create+join / round trip N=0      %6.2f\n",
               median(M_PTHREAD) / median(M_RT_0));
    }
    if (nsamples[M_COMUTEX] > 0) {
        printf("  CoMutex / pthread mutex, uncontended      %6.2f\n",
               median(M_COMUTEX) / median(M_PMUTEX));
        printf("  CoMutex hand-over / round trip N=0        %6.2f\n",
               median(M_HANDOVER) / median(M_RT_0));
    }
    if (nsamples[M_UCONTEXT] > 0) {
        printf("  round trip N=0 / swapcontext round trip   %6.0f  (information)\n",
               median(M_RT_0) / median(M_UCONTEXT));
        printf("  round trip N=0 / _longjmp round trip      %6.0f  (information)\n",
               median(M_RT_0) / median(M_LONGJMP));
    }
    if (nsamples[M_CREATE_10000] > 0) {
        printf("  time to create 10,000 suspended           %6.2f s (target < 2)\n",
               median(M_CREATE_10000) * 10000 / 1e9);
    }
    if (csv != NULL) {
        fclose(csv);
        printf("CSV written to %s\n", o->csv);
    }
}

static void print_machine(const struct options *o)
{
    char model[256] = "unknown CPU";
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(model, sizeof(model), "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    printf("cothread %s benchmark: %s, %ld CPUs online%s\n", PACKAGE_VERSION, model,
           sysconf(_SC_NPROCESSORS_ONLN), o->pin ? ", pinned to CPU 0" : "");
    printf("%ld iterations, %d interleaved repetitions, stack %zu KiB, pool %u\n",
           o->iterations, o->repetitions, cothread_get_stack_size() / 1024,
           cothread_get_pool_size());
}

int main(int argc, char **argv)
{
    struct options o = { .iterations = 20000, .repetitions = 5, .max_suspended = 10000 };
    static const int populations[] = { 100, 1000, 10000 };
    static const enum metric population_metric[] = { M_RT_100, M_RT_1000, M_RT_10000 };
    long rss_base = 0, rss_parked = 0;

    parse(argc, argv, &o);
    if (o.pin) {
        pin_to_cpu0();
    }
    parked = calloc((size_t)o.max_suspended + 1, sizeof(*parked));
    if (parked == NULL) {
        perror("bench");
        return 1;
    }
    print_machine(&o);

    for (int rep = 0; rep < o.repetitions; rep++) {
        record(M_FLOOR, measure_floor(o.iterations));
#ifdef __linux__
        record(M_FUTEX, measure_futex(o.iterations));
#endif
        record(M_RT_0, measure_round_trip(o.iterations));
#ifdef __GLIBC__
        record(M_UCONTEXT, measure_ucontext(o.iterations));
        record(M_LONGJMP, measure_longjmp(o.iterations));
#endif
        if (!o.quick) {
            double create_ns = 0;
            record(M_CREATE, measure_create(o.iterations / 2 + 1));
            record(M_PTHREAD, measure_pthread(o.iterations / 10 + 1));
            record(M_PMUTEX, measure_pthread_mutex(o.iterations * 50));
            record(M_COMUTEX, measure_comutex(o.iterations * 50));
            record(M_HANDOVER, measure_handover(o.iterations));
            if (rep == 0) {
                rss_base = rss_kib();
            }
            for (size_t i = 0; i < sizeof(populations) / sizeof(populations[0]); i++) {
                int n = populations[i];
                if (n > o.max_suspended) {
                    break;
                }
                int before = nparked;
                create_ns += park_up_to(n) * (n - before);
                record(population_metric[i], measure_round_trip(o.iterations));
                if (n == 10000) {
                    record(M_CREATE_10000, create_ns / n);
                    if (rss_kib() > rss_parked) {
                        rss_parked = rss_kib();
                    }
                }
            }
            release_parked();
        }
        fprintf(stderr, "repetition %d of %d done\n", rep + 1, o.repetitions);
    }
    o.max_suspended = o.max_suspended < 10000 ? o.max_suspended : 10000;
    report(&o, rss_base, rss_parked, peak_rss_kib());
    if (o.plot != NULL) {
        plot(o.plot, &o);
    }
    free(parked);
    return 0;
}
