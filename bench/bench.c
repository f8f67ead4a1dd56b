/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cothread's benchmark. Every figure is measured in the same run and the
 * same machine state as its floor (two plain threads ping-ponging through
 * one mutex and one condition variable), in several interleaved
 * repetitions, and reported as median, min and max nanoseconds per
 * operation. Three machine states are measured one after the other: pinned
 * to one CPU, unpinned, and unpinned with a busy loop competing for one
 * CPU. The nesting 1,000 deep and the burst also have floors of their own,
 * their handoffs between as many plain threads, so that what waking cold
 * threads costs the platform shows apart from what it costs cothread. Run
 * it with `make bench`; see --help.
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <ucontext.h>
#endif
#ifdef __linux__
#include <dirent.h>
#include <stdatomic.h>
#include <sys/syscall.h>
/* From the kernel's ABI, without <linux/futex.h> (which a libc's own
 * headers, musl-gcc's say, may lack). */
#define BENCH_FUTEX_WAIT_PRIVATE 128    /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define BENCH_FUTEX_WAKE_PRIVATE 129    /* FUTEX_WAKE | FUTEX_PRIVATE_FLAG */
#endif

#include "qemu-coroutine.h"

#define MAX_REPS 64

/* Machine states, measured one after the other. */
enum state {
    S_PINNED,
    S_IDLE,
    S_BUSY,
    S_COUNT
};

static const struct {
    const char *name;
    const char *what;
    double target;      /* round trip / floor */
} states[S_COUNT] = {
    [S_PINNED] = { "pinned", "pinned to one CPU (every thread of the process)", 1.05 },
    [S_IDLE] = { "idle", "unpinned, no competitor started", 1.10 },
    [S_BUSY] = { "busy", "unpinned, a busy loop pinned to one CPU competing", 1.10 },
};

enum metric {
    M_FLOOR,
    M_FUTEX,
    M_RT_0,
    M_YIELD_RUN,
    M_CALL,
    M_CREATE,
    M_NEST_1,
    M_NEST_10,
    M_NEST_100,
    M_NEST_1000,
    M_FLOOR_NEST,
    M_BURST_IDLE,
    M_BURST_HOT,
    M_FLOOR_BURST,
    M_PTHREAD,
    M_RT_100,
    M_RT_1000,
    M_RT_10000,
    M_CREATE_10000,
    M_PMUTEX,
    M_COMUTEX,
    M_HANDOVER,
    M_UCONTEXT,
    M_LONGJMP,
    M_COUNT,
    M_NONE = M_COUNT
};

static const struct {
    const char *name;
    const char *what;
    int size;           /* suspended population, nesting depth */
    enum metric ref;    /* the ratio column: this metric / ref */
    bool handoff;       /* context switches and migrations reported */
} metrics[M_COUNT] = {
    [M_FLOOR] = { "floor_mutex_condvar", "round trip, two threads, one mutex + condvar", 0, M_NONE, true },
    [M_FUTEX] = { "floor_futex", "round trip, two threads, futex pair (information)", 0, M_FLOOR, true },
    [M_RT_0] = { "roundtrip_n0", "enter + yield, 0 others suspended", 0, M_FLOOR, true },
    [M_YIELD_RUN] = { "yield_run", "enter + yield, one coroutine yielding N times, from create to finish", 0, M_FLOOR, true },
    [M_CALL] = { "function_call", "plain (noinline) function call (information)", 0, M_NONE, false },
    [M_CREATE] = { "create_enter_finish", "create + enter + finish, empty body (flat lifecycle)", 1, M_RT_0, false },
    [M_NEST_1] = { "nest_1", "nesting 1 deep, per coroutine (flat, measured as the nesting)", 1, M_CREATE, false },
    [M_NEST_10] = { "nest_10", "nesting 10 deep: each creates and enters the next, per coroutine", 10, M_CREATE, false },
    [M_NEST_100] = { "nest_100", "nesting 100 deep, per coroutine", 100, M_CREATE, false },
    [M_NEST_1000] = { "nest_1000", "nesting 1,000 deep, per coroutine", 1000, M_CREATE, false },
    [M_FLOOR_NEST] = { "floor_nest_1000", "the 1,000-deep nesting on plain threads: each hands to the next and waits for its reply, per level", 1000, M_FLOOR, false },
    [M_BURST_IDLE] = { "burst_after_idle", "burst after a sleep: create + enter N that yield once, resume all; per coroutine", 0, M_CREATE, false },
    [M_BURST_HOT] = { "burst_back_to_back", "the same burst again at once, per coroutine", 0, M_CREATE, false },
    [M_FLOOR_BURST] = { "floor_burst", "the burst on plain threads: N parked, a round trip with each in turn, twice; per thread", 0, M_FLOOR, false },
    [M_PTHREAD] = { "pthread_create_join", "pthread_create + join, empty thread", 0, M_RT_0, false },
    [M_RT_100] = { "roundtrip_n100", "enter + yield, 100 others suspended", 100, M_RT_0, false },
    [M_RT_1000] = { "roundtrip_n1000", "enter + yield, 1,000 others suspended", 1000, M_RT_0, false },
    [M_RT_10000] = { "roundtrip_n10000", "enter + yield, 10,000 others suspended", 10000, M_RT_0, false },
    [M_CREATE_10000] = { "create_10000_suspended", "create + enter + yield of 10,000 (ns each)", 10000, M_RT_0, false },
    [M_PMUTEX] = { "pthread_mutex_uncontended", "pthread_mutex_lock + unlock, uncontended", 0, M_NONE, false },
    [M_COMUTEX] = { "comutex_uncontended", "qemu_co_mutex_lock + unlock, uncontended, in a coroutine", 0, M_PMUTEX, false },
    [M_HANDOVER] = { "comutex_handover", "CoMutex handed from one coroutine to a waiting one", 0, M_RT_0, false },
    [M_UCONTEXT] = { "ucontext_swap", "round trip, swapcontext() stack switching (information)", 0, M_RT_0, false },
    [M_LONGJMP] = { "longjmp_swap", "round trip, _setjmp/_longjmp stack switching as QEMU does (information)", 0, M_RT_0, false },
};

static const enum metric nest_metrics[] = { M_NEST_1, M_NEST_10, M_NEST_100, M_NEST_1000 };
static const enum metric population_metrics[] = { M_RT_100, M_RT_1000, M_RT_10000 };
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

struct options {
    long iterations;
    int repetitions;
    int max_suspended;
    int burst;
    int idle_ms;
    bool quick;
    bool state_on[S_COUNT];
    const char *only;
    const char *skip;
    const char *csv;
    const char *plots;
};

/* One metric in one state: a sample per repetition. */
struct series {
    double ns[MAX_REPS];
    double vcsw[MAX_REPS];      /* voluntary context switches per op, process */
    double ivcsw[MAX_REPS];     /* involuntary ones */
    double mig[MAX_REPS];       /* migrations of the two threads per op */
    double cross[MAX_REPS];     /* wake-ups on another CPU than the waker's per op */
    int n;
};

static struct series results[S_COUNT][M_COUNT];
static enum state current;
static bool state_ran[S_COUNT];
static double state_load[S_COUNT];          /* 1-minute load average before */
static long state_rss_parked[S_COUNT];      /* RSS with the largest population, KiB */
static long state_rss_base[S_COUNT];
static long timed_ops;                      /* operations the last measurement timed */
static long side_migrations;                /* of the other thread in a handoff */
static long cross_cpu;                      /* handoffs that woke a thread on another CPU */
static int handing_cpu = -1;                /* the CPU of the last side to hand over */
static bool cross_counted;                  /* the measurement counted them */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* What the scheduler did during a measurement. */
struct usage {
    long vcsw, ivcsw, mig;
};

/* Migrations of the calling thread, where Linux reports them (-1: not). */
static long thread_migrations(void)
{
    long value = -1;
#ifdef __linux__
    char line[256];
    FILE *f = fopen("/proc/thread-self/sched", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "se.nr_migrations", 16) == 0 && colon != NULL) {
            value = atol(colon + 1);
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
#endif
    return value;
}

/*
 * Cross-CPU handoffs: the side that hands over notes its CPU, the side that
 * wakes up compares its own. Only the side that runs touches the two
 * variables, and every handoff orders them (the futex floor's handoffs are
 * invisible to helgrind and DRD, so it does not count them).
 */
static int current_cpu(void)
{
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

static void note_handoff(void)
{
    handing_cpu = current_cpu();
}

static void note_wakeup(void)
{
    if (handing_cpu >= 0 && current_cpu() != handing_cpu) {
        cross_cpu++;
    }
}

static void usage_now(struct usage *u)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    u->vcsw = ru.ru_nvcsw;
    u->ivcsw = ru.ru_nivcsw;
    u->mig = thread_migrations();
}

static void record(enum metric m, double ns, const struct usage *before)
{
    struct series *s = &results[current][m];
    struct usage after;
    double ops = timed_ops > 0 ? (double)timed_ops : 1;

    usage_now(&after);
    if (s->n < MAX_REPS) {
        s->ns[s->n] = ns;
        s->vcsw[s->n] = (double)(after.vcsw - before->vcsw) / ops;
        s->ivcsw[s->n] = (double)(after.ivcsw - before->ivcsw) / ops;
        s->mig[s->n] = before->mig < 0 ? -1
                       : (double)(after.mig - before->mig + side_migrations) / ops;
        s->cross[s->n] = current_cpu() < 0 || !cross_counted ? -1 : (double)cross_cpu / ops;
        s->n++;
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
    long migrations = thread_migrations();

    pthread_mutex_lock(&pp.lock);
    for (long i = 0; i < pp.rounds; i++) {
        while (pp.turn != 1) {
            pthread_cond_wait(&pp.cond, &pp.lock);
        }
        note_wakeup();
        note_handoff();
        pp.turn = 0;
        pthread_cond_signal(&pp.cond);
    }
    pthread_mutex_unlock(&pp.lock);
    side_migrations = thread_migrations() - migrations;     /* read after the join */
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
        note_handoff();
        pp.turn = 1;
        pthread_cond_signal(&pp.cond);
        while (pp.turn != 0) {
            pthread_cond_wait(&pp.cond, &pp.lock);
        }
        note_wakeup();
    }
    end = now_ns();
    pthread_mutex_unlock(&pp.lock);
    pthread_join(partner, NULL);
    timed_ops = rounds;
    cross_counted = true;
    return (end - start) / (double)rounds;
}

#ifdef __linux__
static _Atomic int futex_word[2];
static long futex_rounds;

static void futex_wait_for(int idx)
{
    while (atomic_exchange(&futex_word[idx], 0) == 0) {
        syscall(SYS_futex, &futex_word[idx], BENCH_FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
}

static void futex_post(int idx)
{
    atomic_store(&futex_word[idx], 1);
    syscall(SYS_futex, &futex_word[idx], BENCH_FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_partner(void *arg)
{
    long migrations = thread_migrations();

    for (long i = 0; i < futex_rounds; i++) {
        futex_wait_for(1);
        futex_post(0);
    }
    side_migrations = thread_migrations() - migrations;     /* read after the join */
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
    timed_ops = rounds;
    return (end - start) / (double)rounds;
}
#endif

#ifdef __GLIBC__
/* What a round trip costs with stack switching, for comparison: glibc's
 * swapcontext(), which also saves and restores the signal mask. */
static ucontext_t uc_main, uc_co;

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
    timed_ops = rounds;
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
    timed_ops = rounds;
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

/* The same, and the migrations of the coroutine's thread meanwhile; read
 * outside the timed loop, and by main only after the finish. */
static void coroutine_fn yield_until_done_counted(void *opaque)
{
    bool *done = opaque;
    long migrations = thread_migrations();

    while (!*done) {
        note_handoff();
        qemu_coroutine_yield();
        note_wakeup();
    }
    side_migrations = thread_migrations() - migrations;
}

static double measure_round_trip(long rounds)
{
    static bool done;
    Coroutine *co = qemu_coroutine_create(yield_until_done_counted);
    double start, end;

    done = false;
    qemu_coroutine_enter(co, &done);
    start = now_ns();
    for (long i = 0; i < rounds; i++) {
        note_handoff();
        qemu_coroutine_enter(co, NULL);
        note_wakeup();
    }
    end = now_ns();
    done = true;
    qemu_coroutine_enter(co, NULL);
    timed_ops = rounds;
    cross_counted = true;
    return (end - start) / (double)rounds;
}

/*
 * A long run of yields: one coroutine counts down, yielding to its caller
 * each time, and its caller enters it until it has finished. The time runs
 * from the creation to the finish, so the run pays for one creation too.
 */
struct yield_run {
    long left;
    bool finished;
};

static void coroutine_fn count_down(void *opaque)
{
    struct yield_run *run = opaque;
    long migrations = thread_migrations();

    while (run->left > 0) {
        run->left--;
        note_handoff();
        qemu_coroutine_yield();
        note_wakeup();
    }
    side_migrations = thread_migrations() - migrations;
    run->finished = true;
}

static double measure_yield_run(long yields)
{
    static struct yield_run run;
    double start, end;
    Coroutine *co;

    run.left = yields;
    run.finished = false;
    start = now_ns();
    co = qemu_coroutine_create(count_down);
    qemu_coroutine_enter(co, &run);
    while (!run.finished) {
        note_handoff();
        qemu_coroutine_enter(co, NULL);
        note_wakeup();
    }
    end = now_ns();
    timed_ops = yields;
    cross_counted = true;
    return (end - start) / (double)yields;
}

/* A plain function call, for scale: kept out of line, and its side effect
 * (a volatile counter) keeps every call. */
static volatile unsigned long calls_made;

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void plain_function(void)
{
    calls_made++;
}

static double measure_call(long rounds)
{
    double start = now_ns();

    for (long i = 0; i < rounds; i++) {
        plain_function();
    }
    timed_ops = rounds;
    return (now_ns() - start) / (double)rounds;
}

static double measure_pthread_mutex(long rounds)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double start = now_ns();

    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(&m);
        pthread_mutex_unlock(&m);
    }
    timed_ops = rounds;
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
    timed_ops = rounds;
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
    timed_ops = rounds;
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
    timed_ops = rounds;
    return (end - start) / (double)rounds;
}

/*
 * Nesting: a coroutine creates and enters a child, which creates and
 * enters its own, down to the given depth; the innermost returns at once
 * and the chain unwinds. The opaque pointer carries how many are still to
 * be created below.
 */
static void coroutine_fn nest_body(void *opaque)
{
    intptr_t below = (intptr_t)opaque;

    if (below > 0) {
        qemu_coroutine_enter(qemu_coroutine_create(nest_body), (void *)(below - 1));
    }
}

static void nest_chain(int depth)
{
    qemu_coroutine_enter(qemu_coroutine_create(nest_body), (void *)(intptr_t)(depth - 1));
}

/* One warm-up chain, then measured chains for about `coroutines`
 * coroutines in all, or until `budget_ns` has passed, at least one chain:
 * ns per coroutine. (The budget keeps a slow library from making --quick
 * slow: without a pool deep enough, every coroutine is a new thread.) */
static double measure_nesting(int depth, long coroutines, double budget_ns)
{
    long chains = coroutines / depth > 0 ? coroutines / depth : 1;
    long done = 0;
    double start, end;

    nest_chain(depth);
    start = end = now_ns();
    while (done < chains && (done == 0 || end - start < budget_ns)) {
        nest_chain(depth);
        done++;
        end = now_ns();
    }
    timed_ops = done * depth;
    return (end - start) / (double)timed_ops;
}

/*
 * A burst, as a block layer issues requests: n coroutines are created and
 * entered, each yields once (its request in flight), then all are resumed
 * to completion. ns per coroutine.
 */
static Coroutine **burst_co;

static void coroutine_fn yield_once(void *opaque)
{
    qemu_coroutine_yield();
}

static double measure_burst(int n)
{
    double start = now_ns();

    for (int i = 0; i < n; i++) {
        burst_co[i] = qemu_coroutine_create(yield_once);
        qemu_coroutine_enter(burst_co[i], NULL);
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(burst_co[i], NULL);
    }
    timed_ops = n;
    return (now_ns() - start) / (double)n;
}

static double measure_burst_idle(int n, int idle_ms)
{
    sleep_ms(idle_ms);
    return measure_burst(n);
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
    timed_ops = rounds;
    return (end - start) / (double)rounds;
}

/*
 * The floors of the nesting and of the burst: their handoffs on plain
 * threads, as many distinct ones as the coroutines involved, each waiting
 * on a baton of its own (a mutex, a condition variable and a flag, used as
 * the floor uses its own). The floor round trip keeps two threads hot;
 * these show what waking cold threads costs without cothread, so that the
 * nesting's and the burst's ratios can be read against the platform's.
 */
struct baton {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool posted;
};

static void baton_post(struct baton *b)
{
    pthread_mutex_lock(&b->lock);
    b->posted = true;
    pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void baton_wait(struct baton *b)
{
    pthread_mutex_lock(&b->lock);
    while (!b->posted) {
        pthread_cond_wait(&b->cond, &b->lock);
    }
    b->posted = false;
    pthread_mutex_unlock(&b->lock);
}

/* Threads 1 to n, thread k parked on baton[k]; baton[0] is the main
 * thread's. `stop` is written only while every thread is parked, and read
 * after a post, so the batons order it. */
static struct {
    pthread_t *thread;
    struct baton *baton;
    int n;
    bool stop;
} plain;

/* Starts up to n threads with a coroutine thread's stack size (out of
 * memory or address space, fewer): how many started. */
static int plain_start(int n, void *(*body)(void *))
{
    pthread_attr_t attr;

    plain.n = 0;
    plain.stop = false;
    plain.thread = calloc((size_t)n + 1, sizeof(*plain.thread));
    plain.baton = calloc((size_t)n + 1, sizeof(*plain.baton));
    if (plain.thread == NULL || plain.baton == NULL) {
        free(plain.thread);
        free(plain.baton);
        plain.thread = NULL;
        plain.baton = NULL;
        return 0;
    }
    for (int k = 0; k <= n; k++) {
        pthread_mutex_init(&plain.baton[k].lock, NULL);
        pthread_cond_init(&plain.baton[k].cond, NULL);
    }
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cothread_get_stack_size());
    while (plain.n < n && pthread_create(&plain.thread[plain.n + 1], &attr, body,
                                         (void *)(intptr_t)(plain.n + 1)) == 0) {
        plain.n++;
    }
    pthread_attr_destroy(&attr);
    return plain.n;
}

/* Every thread parked: stops them (down the chain, or one by one) and
 * frees what plain_start() made. */
static void plain_stop(bool chain)
{
    plain.stop = true;
    for (int k = 1; k <= plain.n && (k == 1 || !chain); k++) {
        baton_post(&plain.baton[k]);
    }
    for (int k = 1; k <= plain.n; k++) {
        pthread_join(plain.thread[k], NULL);
    }
    if (plain.baton != NULL) {
        for (int k = 0; k <= plain.n; k++) {
            pthread_mutex_destroy(&plain.baton[k].lock);
            pthread_cond_destroy(&plain.baton[k].cond);
        }
    }
    free(plain.thread);
    free(plain.baton);
    plain.thread = NULL;
    plain.baton = NULL;
    plain.n = 0;
}

static bool plain_started(int n, void *(*body)(void *), enum metric m)
{
    if (plain_start(n, body) == n) {
        return true;
    }
    fprintf(stderr, "bench: %s: %d of %d threads started; not measured\n", metrics[m].name,
            plain.n, n);
    plain_stop(false);
    return false;
}

/* Level k of the chain: down to k + 1 and back, as a coroutine enters its
 * child and is resumed when the child finishes; the deepest replies at once. */
static void *floor_nest_level(void *arg)
{
    int k = (int)(intptr_t)arg;

    for (;;) {
        baton_wait(&plain.baton[k]);
        if (plain.stop) {
            if (k < plain.n) {
                baton_post(&plain.baton[k + 1]);
            }
            return arg;
        }
        if (k < plain.n) {
            baton_post(&plain.baton[k + 1]);
            baton_wait(&plain.baton[k]);
        }
        baton_post(&plain.baton[k - 1]);
    }
}

static void floor_nest_chain(void)
{
    baton_post(&plain.baton[1]);
    baton_wait(&plain.baton[0]);
}

/* measure_nesting()'s shape and counts, the threads started before the
 * timing and stopped after it: ns per level. */
static double measure_floor_nest(int depth, long levels, double budget_ns)
{
    long chains = levels / depth > 0 ? levels / depth : 1;
    long done = 0;
    double start, end;

    if (!plain_started(depth, floor_nest_level, M_FLOOR_NEST)) {
        return -1;
    }
    floor_nest_chain();
    start = end = now_ns();
    while (done < chains && (done == 0 || end - start < budget_ns)) {
        floor_nest_chain();
        done++;
        end = now_ns();
    }
    plain_stop(true);
    timed_ops = done * depth;
    return (end - start) / (double)timed_ops;
}

static void *floor_burst_thread(void *arg)
{
    int k = (int)(intptr_t)arg;

    for (;;) {
        baton_wait(&plain.baton[k]);
        if (plain.stop) {
            return arg;
        }
        baton_post(&plain.baton[0]);
    }
}

/* The burst's two passes (enter, then resume to the finish) as two round
 * trips with each of n parked threads in turn: ns per thread. */
static double measure_floor_burst(int n)
{
    double start, end;

    if (!plain_started(n, floor_burst_thread, M_FLOOR_BURST)) {
        return -1;
    }
    start = now_ns();
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 1; k <= n; k++) {
            baton_post(&plain.baton[k]);
            baton_wait(&plain.baton[0]);
        }
    }
    end = now_ns();
    plain_stop(false);
    timed_ops = n;
    return (end - start) / (double)n;
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

/* The 1-minute load average, -1 where /proc/loadavg does not exist. */
static double load_average(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f != NULL) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1;
        }
        fclose(f);
    }
    return load;
}

/* Machine states */

#ifdef __linux__
static cpu_set_t original_cpus;
static int pin_cpu;

/* Every thread of the process, the pooled and parked coroutine threads
 * included, gets the mask; threads created later inherit it from theirs. */
static bool set_affinity_all(const cpu_set_t *set)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;
    bool ok = true;

    if (dir == NULL) {
        return sched_setaffinity(0, sizeof(*set), set) == 0;
    }
    while ((e = readdir(dir)) != NULL) {
        pid_t tid = (pid_t)atol(e->d_name);
        if (tid > 0 && sched_setaffinity(tid, sizeof(*set), set) != 0 && errno != ESRCH) {
            perror("bench: sched_setaffinity");
            ok = false;
        }
    }
    closedir(dir);
    return ok;
}
#endif

static bool affinity_init(void)
{
#ifdef __linux__
    if (sched_getaffinity(0, sizeof(original_cpus), &original_cpus) != 0) {
        return false;
    }
    for (pin_cpu = 0; pin_cpu < CPU_SETSIZE; pin_cpu++) {
        if (CPU_ISSET(pin_cpu, &original_cpus)) {
            return true;
        }
    }
#endif
    return false;
}

static bool set_pinned(bool pinned)
{
#ifdef __linux__
    cpu_set_t one;

    if (!pinned) {
        return set_affinity_all(&original_cpus);
    }
    CPU_ZERO(&one);
    CPU_SET(pin_cpu, &one);
    return set_affinity_all(&one);
#else
    return !pinned;
#endif
}

/* The competitor: a child process spinning on the CPU the pinned state
 * uses, until killed (or until it sees that its parent is gone). */
static pid_t competitor = -1;

static bool start_competitor(void)
{
    pid_t parent = getpid();

    fflush(NULL);
    competitor = fork();
    if (competitor == 0) {
        volatile unsigned long spins = 0;
#ifdef __linux__
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(pin_cpu, &one);
        (void)sched_setaffinity(0, sizeof(one), &one);
#endif
        for (;;) {
            if ((++spins & 0xfffff) == 0 && getppid() != parent) {
                _exit(0);
            }
        }
    }
    if (competitor < 0) {
        perror("bench: fork (competitor)");
        return false;
    }
    sleep_ms(50);       /* let it start spinning */
    return true;
}

static void stop_competitor(void)
{
    if (competitor > 0) {
        kill(competitor, SIGKILL);
        while (waitpid(competitor, NULL, 0) < 0 && errno == EINTR) {
        }
        competitor = -1;
    }
}

static bool enter_state(enum state s)
{
    switch (s) {
    case S_PINNED:
        return set_pinned(true);
    case S_IDLE:
        return set_pinned(false);
    case S_BUSY:
        return set_pinned(false) && start_competitor();
    default:
        return false;
    }
}

/* Measuring */

/* The workloads that need many threads: with --quick, measured in the
 * first repetition only. */
static bool heavy(enum metric m)
{
    switch (m) {
    case M_NEST_100:
    case M_NEST_1000:
    case M_FLOOR_NEST:
    case M_BURST_IDLE:
    case M_BURST_HOT:
    case M_FLOOR_BURST:
    case M_RT_100:
    case M_RT_1000:
    case M_RT_10000:
    case M_CREATE_10000:
        return true;
    default:
        return false;
    }
}

static int repetition;

/* Whether a comma-separated list names a metric. */
static bool listed(const char *list, enum metric m)
{
    const char *p = list;
    size_t len = strlen(metrics[m].name);

    while ((p = strstr(p, metrics[m].name)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[len] == '\0' || p[len] == ',')) {
            return true;
        }
        p += len;
    }
    return false;
}

static bool wanted(const struct options *o, enum metric m)
{
    if (o->quick && repetition > 0 && heavy(m)) {
        return false;
    }
    return (o->only == NULL || listed(o->only, m)) && (o->skip == NULL || !listed(o->skip, m));
}

/* A measurement that could not run returns a negative time: no sample. */
#define MEASURE(o, m, expr) \
    do { \
        if (wanted((o), (m))) { \
            struct usage before_; \
            usage_now(&before_); \
            timed_ops = 0; \
            side_migrations = 0; \
            cross_cpu = 0; \
            cross_counted = false; \
            handing_cpu = -1; \
            double ns_ = (expr); \
            if (ns_ >= 0) { \
                record((m), ns_, &before_); \
            } \
        } \
    } while (0)

/* One repetition of every metric, in the current state. */
static void run_repetition(const struct options *o, int rep)
{
    long it = o->iterations;
    bool population = false;

    MEASURE(o, M_FLOOR, measure_floor(it));
#ifdef __linux__
    MEASURE(o, M_FUTEX, measure_futex(it));
#endif
    MEASURE(o, M_RT_0, measure_round_trip(it));
    MEASURE(o, M_YIELD_RUN, measure_yield_run(it));
    MEASURE(o, M_CALL, measure_call(it * 500));
    MEASURE(o, M_CREATE, measure_create(it / 2 + 1));
    for (size_t i = 0; i < COUNT_OF(nest_metrics); i++) {
        int depth = metrics[nest_metrics[i]].size;
        if (depth <= o->max_suspended || depth == 1) {
            MEASURE(o, nest_metrics[i],
                    measure_nesting(depth, it / 2 + 1, o->quick ? 0.2e9 : 1e9));
        }
    }
    if (metrics[M_FLOOR_NEST].size <= o->max_suspended) {
        MEASURE(o, M_FLOOR_NEST, measure_floor_nest(metrics[M_FLOOR_NEST].size, it / 2 + 1,
                                                    o->quick ? 0.2e9 : 1e9));
    }
    MEASURE(o, M_PTHREAD, measure_pthread(it / 10 + 1));
    MEASURE(o, M_PMUTEX, measure_pthread_mutex(it * 50));
    MEASURE(o, M_COMUTEX, measure_comutex(it * 50));
    MEASURE(o, M_HANDOVER, measure_handover(it));
#ifdef __GLIBC__
    MEASURE(o, M_UCONTEXT, measure_ucontext(it));
    MEASURE(o, M_LONGJMP, measure_longjmp(it));
#endif

    for (size_t i = 0; i < COUNT_OF(population_metrics); i++) {
        population = population || wanted(o, population_metrics[i]);
    }
    population = population || wanted(o, M_CREATE_10000);
    if (population) {
        double create_ns = 0;
        if (rep == 0) {
            state_rss_base[current] = rss_kib();
        }
        for (size_t i = 0; i < COUNT_OF(population_metrics); i++) {
            int n = metrics[population_metrics[i]].size, before = nparked;
            if (n > o->max_suspended) {
                break;
            }
            create_ns += park_up_to(n) * (n - before);
            MEASURE(o, population_metrics[i], measure_round_trip(it));
            if (n == 10000) {
                struct usage none;
                usage_now(&none);
                timed_ops = n;
                if (wanted(o, M_CREATE_10000)) {
                    record(M_CREATE_10000, create_ns / n, &none);
                }
            }
            if (rss_kib() > state_rss_parked[current]) {
                state_rss_parked[current] = rss_kib();
            }
        }
        release_parked();
    }

    /* Last: the idle sleep also lets the released threads settle before
     * the next repetition's floor, the burst floor's threads too. The burst
     * after idle is the warm-up of the one back to back. */
    if (o->burst > 0) {
        MEASURE(o, M_FLOOR_BURST, measure_floor_burst(o->burst));
        MEASURE(o, M_BURST_IDLE, measure_burst_idle(o->burst, o->idle_ms));
        if (!wanted(o, M_BURST_IDLE) && wanted(o, M_BURST_HOT)) {
            measure_burst(o->burst);
        }
        MEASURE(o, M_BURST_HOT, measure_burst(o->burst));
    }
}

/* Reporting */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *v, int n)
{
    double sorted[MAX_REPS];

    if (n == 0) {
        return 0;
    }
    memcpy(sorted, v, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), compare_double);
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static bool have(enum state s, enum metric m)
{
    return m != M_NONE && results[s][m].n > 0;
}

static double median(enum state s, enum metric m)
{
    return median_of(results[s][m].ns, results[s][m].n);
}

static double extreme(enum state s, enum metric m, int sign)
{
    const struct series *r = &results[s][m];
    double best = r->ns[0];

    for (int i = 1; i < r->n; i++) {
        if ((r->ns[i] - best) * sign > 0) {
            best = r->ns[i];
        }
    }
    return best;
}

/* median(a) / median(b), 0 when either is missing. */
static double ratio(enum state s, enum metric a, enum metric b)
{
    return have(s, a) && have(s, b) && median(s, b) > 0 ? median(s, a) / median(s, b) : 0;
}

/* The ratio column's label for a reference metric. */
static const char *ref_label(enum metric m)
{
    switch (m) {
    case M_FLOOR:
        return "floor";
    case M_RT_0:
        return "roundtrip";
    case M_CREATE:
        return "lifecycle";
    case M_PMUTEX:
        return "pmutex";
    default:
        return metrics[m].name;
    }
}

/* Nanoseconds with a sensible number of digits. */
static const char *fmt_ns(char *buf, size_t size, double ns)
{
    snprintf(buf, size, ns < 100 ? "%.1f" : "%.0f", ns);
    return buf;
}

/* The largest suspended population measured in a state. */
static enum metric largest_population(enum state s)
{
    enum metric best = M_NONE;

    for (size_t i = 0; i < COUNT_OF(population_metrics); i++) {
        if (have(s, population_metrics[i])) {
            best = population_metrics[i];
        }
    }
    return best;
}

/* A target from issue 12: printed as PASS or FAIL, never an exit status. */
static int targets_failed;

static void target(enum state s, const char *what, double value, double limit, bool print)
{
    if (value <= 0) {
        return;
    }
    if (print) {
        printf("  %s  %-7s %-46s %6.2f  (target <= %.2f)\n", value <= limit ? "PASS" : "FAIL",
               states[s].name, what, value, limit);
    }
    targets_failed += value > limit;
}

/* Under a target, the same ratio on plain threads: how much of it the
 * platform makes alone. */
static void floor_line(const char *what, double value, const char *why, bool print)
{
    if (print && value > 0) {
        printf("%16s%-46s %6.2f  (information: %s)\n", "", what, value, why);
    }
}

/* The burst floor against two hot round trips, as a burst coroutine's
 * lifecycle + round trip is against the same work at a steady pace. */
static double burst_floor_ratio(enum state s)
{
    return have(s, M_FLOOR_BURST) && have(s, M_FLOOR) ? ratio(s, M_FLOOR_BURST, M_FLOOR) / 2 : 0;
}

/* The burst's reference: the same work at a steady pace, one flat
 * lifecycle plus the one extra enter + yield each burst coroutine makes. */
static double steady_burst_ns(enum state s)
{
    return have(s, M_CREATE) && have(s, M_RT_0) ? median(s, M_CREATE) + median(s, M_RT_0) : 0;
}

static void targets(enum state s, bool print)
{
    enum metric big = largest_population(s);
    double steady = steady_burst_ns(s);
    char what[64];

    target(s, "round trip N=0 / mutex+condvar floor", ratio(s, M_RT_0, M_FLOOR),
           states[s].target, print);
    target(s, "nested 1,000 deep / flat lifecycle", ratio(s, M_NEST_1000, M_CREATE), 1.5, print);
    if (ratio(s, M_NEST_1000, M_CREATE) > 0) {
        floor_line("on plain threads: nest floor / floor", ratio(s, M_FLOOR_NEST, M_FLOOR),
                   "1,000 cold threads without cothread", print);
    }
    if (big != M_NONE) {
        snprintf(what, sizeof(what), "round trip N=%d / round trip N=0", metrics[big].size);
        target(s, what, ratio(s, big, M_RT_0), 1.10, print);
    }
    target(s, "create+enter+finish / round trip N=0", ratio(s, M_CREATE, M_RT_0), 1.5, print);
    if (have(s, M_BURST_IDLE) && steady > 0) {
        target(s, "burst after idle / (lifecycle + round trip)", median(s, M_BURST_IDLE) / steady,
               1.10, print);
        floor_line("on plain threads: burst floor / (2 x floor)", burst_floor_ratio(s),
                   "cold threads without cothread, no idle sleep", print);
    }
}

static void report_state(enum state s, const struct options *o)
{
    char a[32], b[32], c[32];
    enum metric big = largest_population(s);
    double steady = steady_burst_ns(s);

    printf("\n== %s: %s", states[s].name, states[s].what);
    if (state_load[s] >= 0) {
        printf(" (load average %.2f before)", state_load[s]);
    }
    printf("\n%-26s %10s %10s %10s %7s %-9s %s\n", "metric", "median ns", "min ns", "max ns",
           "ratio", "to", "what");
    for (enum metric m = 0; m < M_COUNT; m++) {
        if (!have(s, m)) {
            continue;
        }
        printf("%-26s %10s %10s %10s", metrics[m].name, fmt_ns(a, sizeof(a), median(s, m)),
               fmt_ns(b, sizeof(b), extreme(s, m, -1)), fmt_ns(c, sizeof(c), extreme(s, m, 1)));
        if (have(s, metrics[m].ref)) {
            printf(" %7.2f %-9s", ratio(s, m, metrics[m].ref), ref_label(metrics[m].ref));
        } else {
            printf(" %7s %-9s", "", "");
        }
        if (m == M_BURST_HOT || m == M_BURST_IDLE || m == M_FLOOR_BURST) {
            printf(" %s (N=%d%s)\n", metrics[m].what, o->burst,
                   m == M_BURST_IDLE ? ", idle" : "");
        } else {
            printf(" %s\n", metrics[m].what);
        }
    }

    printf("\nscheduler, per round trip (medians): context switches of the whole process "
           "(voluntary + involuntary);\n  migrations of the two threads; wake-ups on another CPU "
           "than the waker's (of 2)\n");
    for (enum metric m = 0; m < M_COUNT; m++) {
        const struct series *r = &results[s][m];
        if (!metrics[m].handoff || r->n == 0) {
            continue;
        }
        printf("  %-24s %5.2f + %5.2f switches", metrics[m].name, median_of(r->vcsw, r->n),
               median_of(r->ivcsw, r->n));
        if (r->mig[0] >= 0) {
            printf(", %6.3f migrations", median_of(r->mig, r->n));
        }
        if (r->cross[0] >= 0) {
            printf(", %5.2f wake-ups on another CPU", median_of(r->cross, r->n));
        }
        printf("\n");
    }

    if (state_rss_parked[s] > 0 && big != M_NONE) {
        int n = metrics[big].size;
        printf("\nmemory with %d coroutines suspended: RSS %.1f MiB (+%.1f KiB each, "
               "/proc/self/statm)\n", n, state_rss_parked[s] / 1024.0,
               (double)(state_rss_parked[s] - state_rss_base[s]) / n);
    }

    printf("\nratios (medians, this state):\n");
    if (have(s, M_RT_0) && have(s, M_FLOOR)) {
        printf("  round trip N=0 / mutex+condvar floor        %7.2f  (target <= %.2f)\n",
               ratio(s, M_RT_0, M_FLOOR), states[s].target);
    }
    if (have(s, M_FUTEX)) {
        printf("  futex floor / mutex+condvar floor           %7.2f  (information)\n",
               ratio(s, M_FUTEX, M_FLOOR));
    }
    if (have(s, M_YIELD_RUN) && have(s, M_RT_0)) {
        printf("  yield run / round trip N=0                  %7.2f  (the same switch, QEMU's "
               "/perf/yield shape)\n", ratio(s, M_YIELD_RUN, M_RT_0));
    }
    if (have(s, M_CALL) && have(s, M_YIELD_RUN)) {
        printf("  enter+yield / plain function call           %7.0f  (information)\n",
               ratio(s, M_YIELD_RUN, M_CALL));
    }
    if (have(s, M_CREATE) && have(s, M_RT_0)) {
        printf("  create+enter+finish / round trip N=0        %7.2f  (target <= 1.50)\n",
               ratio(s, M_CREATE, M_RT_0));
    }
    for (size_t i = 0; i < COUNT_OF(nest_metrics); i++) {
        enum metric m = nest_metrics[i];
        if (have(s, m) && have(s, M_CREATE)) {
            printf("  nested %-5d / flat lifecycle              %7.2f  %s\n", metrics[m].size,
                   ratio(s, m, M_CREATE),
                   m == M_NEST_1000 ? "(target <= 1.50)" : "(information)");
        }
    }
    if (have(s, M_FLOOR_NEST) && have(s, M_FLOOR)) {
        printf("  nest floor (1,000 plain threads) / floor    %7.2f  (information: per level two "
               "handoffs between cold threads, against two between hot ones)\n",
               ratio(s, M_FLOOR_NEST, M_FLOOR));
        /* Overstated where cothread's hot handoff is the cheaper one: the
         * same cold cost is then a larger part of it. Hence also the
         * direct comparison, which has no hot reference. */
        if (have(s, M_NEST_1000) && have(s, M_CREATE)) {
            printf("  (nested 1000 / flat) / (nest floor / floor) %7.2f  (information: cothread's "
                   "growth beyond the platform's)\n",
                   ratio(s, M_NEST_1000, M_CREATE) / ratio(s, M_FLOOR_NEST, M_FLOOR));
        }
        if (have(s, M_NEST_1000)) {
            printf("  nested 1000 / nest floor                    %7.2f  (information: the same "
                   "cold handoffs, cothread against plain threads)\n",
                   ratio(s, M_NEST_1000, M_FLOOR_NEST));
        }
    }
    if (have(s, M_BURST_IDLE) && have(s, M_CREATE)) {
        printf("  burst after idle / flat lifecycle           %7.2f  (information: a burst "
               "coroutine also yields once)\n", ratio(s, M_BURST_IDLE, M_CREATE));
    }
    if (steady > 0) {
        if (have(s, M_BURST_IDLE)) {
            printf("  burst after idle / (lifecycle + round trip) %7.2f  (target <= 1.10: "
                   "\"the same as steady creation\")\n", median(s, M_BURST_IDLE) / steady);
        }
        if (have(s, M_BURST_HOT)) {
            printf("  burst back to back / (lifecycle + rt)       %7.2f  (information)\n",
                   median(s, M_BURST_HOT) / steady);
        }
    }
    if (burst_floor_ratio(s) > 0) {
        printf("  burst floor / (2 x floor round trip)        %7.2f  (information: the burst's "
               "round trips on cold plain threads)\n", burst_floor_ratio(s));
    }
    if (have(s, M_FLOOR_BURST) && have(s, M_BURST_IDLE)) {
        printf("  burst after idle / burst floor              %7.2f  (information: cothread "
               "against plain threads, after a sleep)\n", ratio(s, M_BURST_IDLE, M_FLOOR_BURST));
    }
    if (have(s, M_FLOOR_BURST) && have(s, M_BURST_HOT)) {
        printf("  burst back to back / burst floor            %7.2f  (information: cothread "
               "against plain threads, neither after a sleep)\n",
               ratio(s, M_BURST_HOT, M_FLOOR_BURST));
    }
    if (big != M_NONE) {
        printf("  round trip N=%-5d / round trip N=0         %7.2f  (target <= 1.10)\n",
               metrics[big].size, ratio(s, big, M_RT_0));
    }
    if (have(s, M_PTHREAD) && have(s, M_RT_0)) {
        printf("  pthread_create+join / round trip N=0        %7.2f\n", ratio(s, M_PTHREAD, M_RT_0));
    }
    if (have(s, M_COMUTEX) && have(s, M_PMUTEX)) {
        printf("  CoMutex / pthread mutex, uncontended        %7.2f\n",
               ratio(s, M_COMUTEX, M_PMUTEX));
    }
    if (have(s, M_HANDOVER) && have(s, M_RT_0)) {
        printf("  CoMutex hand-over / round trip N=0          %7.2f\n",
               ratio(s, M_HANDOVER, M_RT_0));
    }
    if (have(s, M_UCONTEXT) && have(s, M_RT_0)) {
        printf("  round trip N=0 / swapcontext round trip     %7.0f  (information)\n",
               ratio(s, M_RT_0, M_UCONTEXT));
    }
    if (have(s, M_LONGJMP) && have(s, M_RT_0)) {
        printf("  round trip N=0 / _longjmp round trip        %7.0f  (information)\n",
               ratio(s, M_RT_0, M_LONGJMP));
    }
    if (have(s, M_CREATE_10000)) {
        printf("  time to create 10,000 suspended             %7.2f s (target < 2)\n",
               median(s, M_CREATE_10000) * 10000 / 1e9);
    }
}

/* The figures side by side, one column or row per state. */
static void report_summary(void)
{
    char a[32], b[32], c[32];
    bool any_nest = false, any_floor_nest = false;

    printf("\n== round trip against its floor, by machine state (medians)\n");
    printf("%-8s %10s %10s %13s %9s %9s %12s %12s %14s %10s\n", "state", "floor ns", "futex ns",
           "round trip ns", "rt/floor", "target", "futex/floor", "switches/rt", "migrations/rt",
           "cross/rt");
    for (enum state s = 0; s < S_COUNT; s++) {
        const struct series *rt = &results[s][M_RT_0];
        if (!state_ran[s] || !have(s, M_RT_0) || !have(s, M_FLOOR)) {
            continue;
        }
        printf("%-8s %10s %10s %13s %9.2f %9s", states[s].name,
               fmt_ns(a, sizeof(a), median(s, M_FLOOR)),
               have(s, M_FUTEX) ? fmt_ns(b, sizeof(b), median(s, M_FUTEX)) : "-",
               fmt_ns(c, sizeof(c), median(s, M_RT_0)), ratio(s, M_RT_0, M_FLOOR),
               s == S_PINNED ? "<= 1.05" : "<= 1.10");
        if (have(s, M_FUTEX)) {
            printf(" %12.2f", ratio(s, M_FUTEX, M_FLOOR));
        } else {
            printf(" %12s", "-");
        }
        printf(" %12.2f", median_of(rt->vcsw, rt->n) + median_of(rt->ivcsw, rt->n));
        if (rt->mig[0] >= 0) {
            printf(" %14.3f", median_of(rt->mig, rt->n));
        } else {
            printf(" %14s", "-");
        }
        if (rt->cross[0] >= 0) {
            printf(" %10.2f\n", median_of(rt->cross, rt->n));
        } else {
            printf(" %10s\n", "-");
        }
    }

    for (enum state s = 0; s < S_COUNT; s++) {
        for (size_t i = 0; i < COUNT_OF(nest_metrics); i++) {
            any_nest = any_nest || have(s, nest_metrics[i]);
        }
        any_floor_nest = any_floor_nest || have(s, M_FLOOR_NEST);
    }
    any_nest = any_nest || any_floor_nest;
    if (!any_nest) {
        return;
    }
    printf("\n== create cost against nesting depth (ns per coroutine, medians)\n%-22s", "depth");
    for (enum state s = 0; s < S_COUNT; s++) {
        if (state_ran[s]) {
            printf(" %10s", states[s].name);
        }
    }
    printf("\n%-22s", "flat (create_enter_finish)");
    for (enum state s = 0; s < S_COUNT; s++) {
        if (state_ran[s]) {
            printf(" %10s", have(s, M_CREATE) ? fmt_ns(a, sizeof(a), median(s, M_CREATE)) : "-");
        }
    }
    for (size_t i = 0; i < COUNT_OF(nest_metrics); i++) {
        enum metric m = nest_metrics[i];
        printf("\n%-22d", metrics[m].size);
        for (enum state s = 0; s < S_COUNT; s++) {
            if (state_ran[s]) {
                printf(" %10s", have(s, m) ? fmt_ns(a, sizeof(a), median(s, m)) : "-");
            }
        }
    }
    if (any_floor_nest) {
        printf("\n%-22s", "1000, plain threads");
        for (enum state s = 0; s < S_COUNT; s++) {
            if (state_ran[s]) {
                printf(" %10s", have(s, M_FLOOR_NEST)
                       ? fmt_ns(a, sizeof(a), median(s, M_FLOOR_NEST)) : "-");
            }
        }
        printf("\n(plain threads: %s, the same handoffs without cothread, ns per level)",
               metrics[M_FLOOR_NEST].name);
    }
    printf("\n");
}

static void csv_row(FILE *csv, enum state s, const char *metric, const char *unit,
                    const char *what, double med, double lo, double hi, int n,
                    double ratio_value, const char *ratio_to)
{
    fprintf(csv, "%s,%s,%s,\"%s\",%.3f,%.3f,%.3f,%d,", states[s].name, metric, unit, what, med,
            lo, hi, n);
    if (ratio_to != NULL) {
        fprintf(csv, "%.4f,%s\n", ratio_value, ratio_to);
    } else {
        fprintf(csv, ",\n");
    }
}

static double series_extreme(const double *v, int n, int sign)
{
    double best = v[0];
    for (int i = 1; i < n; i++) {
        if ((v[i] - best) * sign > 0) {
            best = v[i];
        }
    }
    return best;
}

static void write_csv(const char *path)
{
    FILE *csv = fopen(path, "w");

    if (csv == NULL) {
        perror(path);
        return;
    }
    fprintf(csv, "state,metric,unit,description,median,min,max,samples,ratio,ratio_to\n");
    for (enum state s = 0; s < S_COUNT; s++) {
        enum metric big = largest_population(s);
        if (!state_ran[s]) {
            continue;
        }
        if (state_load[s] >= 0) {
            csv_row(csv, s, "load_average", "load", "1-minute load average before the state",
                    state_load[s], state_load[s], state_load[s], 1, 0, NULL);
        }
        for (enum metric m = 0; m < M_COUNT; m++) {
            const struct series *r = &results[s][m];
            char name[64];
            if (r->n == 0) {
                continue;
            }
            csv_row(csv, s, metrics[m].name, "ns", metrics[m].what, median(s, m),
                    extreme(s, m, -1), extreme(s, m, 1), r->n, ratio(s, m, metrics[m].ref),
                    have(s, metrics[m].ref) ? metrics[metrics[m].ref].name : NULL);
            if (!metrics[m].handoff) {
                continue;
            }
            snprintf(name, sizeof(name), "%s.switches_voluntary", metrics[m].name);
            csv_row(csv, s, name, "per op", "voluntary context switches, whole process",
                    median_of(r->vcsw, r->n), series_extreme(r->vcsw, r->n, -1),
                    series_extreme(r->vcsw, r->n, 1), r->n, 0, NULL);
            snprintf(name, sizeof(name), "%s.switches_involuntary", metrics[m].name);
            csv_row(csv, s, name, "per op", "involuntary context switches, whole process",
                    median_of(r->ivcsw, r->n), series_extreme(r->ivcsw, r->n, -1),
                    series_extreme(r->ivcsw, r->n, 1), r->n, 0, NULL);
            if (r->mig[0] >= 0) {
                snprintf(name, sizeof(name), "%s.migrations", metrics[m].name);
                csv_row(csv, s, name, "per op", "migrations of the two threads",
                        median_of(r->mig, r->n), series_extreme(r->mig, r->n, -1),
                        series_extreme(r->mig, r->n, 1), r->n, 0, NULL);
            }
            if (r->cross[0] >= 0) {
                snprintf(name, sizeof(name), "%s.cross_cpu_wakeups", metrics[m].name);
                csv_row(csv, s, name, "per op", "wake-ups on another CPU than the waker's",
                        median_of(r->cross, r->n), series_extreme(r->cross, r->n, -1),
                        series_extreme(r->cross, r->n, 1), r->n, 0, NULL);
            }
        }
        if (state_rss_parked[s] > 0 && big != M_NONE) {
            double rss = (double)state_rss_parked[s];
            double per = (rss - (double)state_rss_base[s]) / metrics[big].size;
            csv_row(csv, s, "rss_suspended", "KiB", "RSS with the largest suspended population",
                    rss, rss, rss, 1, 0, NULL);
            csv_row(csv, s, "rss_per_coroutine", "KiB", "RSS per suspended coroutine",
                    per, per, per, 1, 0, NULL);
        }
    }
    fclose(csv);
    printf("CSV written to %s\n", path);
}

/* Plots, with gnuplot's inline data blocks (gnuplot 5). */
static bool gnuplot_present(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void run_gnuplot(const char *script, const char *png)
{
    FILE *gp = popen("gnuplot", "w");

    if (gp == NULL) {
        fprintf(stderr, "bench: cannot start gnuplot, no %s\n", png);
        return;
    }
    fputs(script, gp);
    if (pclose(gp) != 0) {
        fprintf(stderr, "bench: gnuplot failed, no %s\n", png);
    } else {
        printf("plot written to %s\n", png);
    }
}

/* A growing string for a gnuplot script. */
struct text {
    char buf[16384];
    size_t len;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->len >= sizeof(t->buf)) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
    va_end(ap);
    t->len += n > 0 ? (size_t)n : 0;
}

static void plot_states(const char *dir)
{
    static struct text t;
    char png[4096];

    snprintf(png, sizeof(png), "%s/states.png", dir);
    t.len = 0;
    add(&t, "$d << EOD\n");
    for (enum state s = 0; s < S_COUNT; s++) {
        if (state_ran[s] && have(s, M_RT_0) && have(s, M_FLOOR)) {
            add(&t, "%s %.4f %.4f %.2f\n", states[s].name, ratio(s, M_RT_0, M_FLOOR),
                have(s, M_FUTEX) ? ratio(s, M_FUTEX, M_FLOOR) : 0, states[s].target);
        }
    }
    add(&t, "EOD\n"
        "set terminal png size 800,600\nset output '%s'\n"
        "set title 'cothread: enter + yield round trip against its floor, by machine state'\n"
        "set ylabel 'ratio to the mutex + condvar floor of the same state'\n"
        "set yrange [0:*]\nset key below\nset grid ytics\n"
        "set style data histograms\nset style histogram clustered gap 1\n"
        "set style fill solid 0.7 border -1\nset boxwidth 0.9\n"
        "plot $d using 2:xtic(1) title 'round trip / floor', "
        "'' using 3 title 'futex floor / floor (information)', "
        "'' using ($0 - 0.17):4 with points pt 6 ps 2 lc rgb 'black' title 'target', "
        "1 with lines dt 2 lc rgb 'gray40' title 'floor'\n", png);
    run_gnuplot(t.buf, png);
}

/* `floor_point`, unless M_NONE: a floor drawn as one point beside each state's
 * line, at its size. */
static void plot_series(struct text *t, const char *title, const enum metric *list, size_t n,
                        bool depth, enum metric floor_point)
{
    int style = 1;

    for (enum state s = 0; s < S_COUNT; s++) {
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            any = any || have(s, list[i]);
        }
        if (!state_ran[s] || !any) {
            continue;
        }
        add(t, "$%s << EOD\n", states[s].name);
        if (!depth && have(s, M_RT_0)) {
            add(t, "0 %.1f %.1f %.1f\n", median(s, M_RT_0), extreme(s, M_RT_0, -1),
                extreme(s, M_RT_0, 1));
        }
        for (size_t i = 0; i < n; i++) {
            if (have(s, list[i])) {
                add(t, "%d %.1f %.1f %.1f\n", metrics[list[i]].size, median(s, list[i]),
                    extreme(s, list[i], -1), extreme(s, list[i], 1));
            }
        }
        add(t, "EOD\n");
        if (have(s, floor_point)) {
            add(t, "$%s_plain << EOD\n%d %.1f %.1f %.1f\nEOD\n", states[s].name,
                metrics[floor_point].size, median(s, floor_point), extreme(s, floor_point, -1),
                extreme(s, floor_point, 1));
        }
    }
    add(t, "%s", title);
    for (enum state s = 0; s < S_COUNT; s++) {
        enum metric ref = depth ? M_CREATE : M_FLOOR;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            any = any || have(s, list[i]);
        }
        if (!state_ran[s] || !any) {
            continue;
        }
        add(t, "%s$%s using ($1 == 0 ? 1 : $1):2:3:4 with yerrorlines lc %d title '%s'",
            style == 1 ? "plot " : ", ", states[s].name, style, states[s].name);
        if (have(s, ref)) {
            add(t, ", %.1f with lines lc %d dt 2 title '%s: %s'",
                depth ? 1.5 * median(s, ref) : median(s, ref), style, states[s].name,
                depth ? "1.5 x flat lifecycle (target)" : "mutex + condvar floor");
        }
        if (have(s, floor_point)) {
            add(t, ", $%s_plain using 1:2:3:4 with yerrorbars lc %d pt 6 "
                "title '%s: %d on plain threads (floor)'", states[s].name, style, states[s].name,
                metrics[floor_point].size);
        }
        style++;
    }
    add(t, "\n");
}

static void plot_nesting(const char *dir)
{
    static struct text t;
    char png[4096], head[4600];

    snprintf(png, sizeof(png), "%s/nesting.png", dir);
    snprintf(head, sizeof(head),
             "set terminal png size 900,600\nset output '%s'\n"
             "set title 'cothread: create + enter + finish against nesting depth'\n"
             "set xlabel 'nesting depth (each coroutine creates and enters the next)'\n"
             "set ylabel 'ns per coroutine; per level on plain threads (log scale)'\n"
             "set logscale xy\n"
             "set xrange [0.7:1500]\nset key below\nset grid\n", png);
    t.len = 0;
    plot_series(&t, head, nest_metrics, COUNT_OF(nest_metrics), true, M_FLOOR_NEST);
    run_gnuplot(t.buf, png);
}

static void plot_populations(const char *dir)
{
    static struct text t;
    char png[4096], head[4600];

    snprintf(png, sizeof(png), "%s/roundtrip.png", dir);
    snprintf(head, sizeof(head),
             "set terminal png size 800,500\nset output '%s'\n"
             "set title 'cothread: enter + yield round trip vs. suspended coroutines'\n"
             "set xlabel 'coroutines suspended meanwhile (0 is drawn at 1)'\n"
             "set ylabel 'ns per round trip'\nset logscale x\nset xrange [0.5:20000]\n"
             "set yrange [0:*]\nset key bottom right\n", png);
    t.len = 0;
    plot_series(&t, head, population_metrics, COUNT_OF(population_metrics), false, M_NONE);
    run_gnuplot(t.buf, png);
}

/* Options */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bench [options]\n"
            "  --states LIST    machine states to measure, in order, comma-separated:\n"
            "                   pinned (every thread on one CPU), idle (unpinned),\n"
            "                   busy (unpinned, a busy loop pinned to that CPU);\n"
            "                   default pinned,idle,busy (idle,busy without Linux)\n"
            "  --pin            the same as --states pinned\n"
            "  --iterations N   round trips per measurement (default 20000, --quick 5000)\n"
            "  --repetitions N  interleaved repetitions (default 5, --quick 3, at most %d)\n"
            "  --max-suspended N  most coroutines alive at once: suspended population,\n"
            "                   nesting depth, burst size (default 10000, --quick 1000);\n"
            "                   the plain threads of the nesting's and burst's floors too\n"
            "  --burst N        coroutines per burst (default 1000, at most --max-suspended)\n"
            "  --idle-ms N      sleep before the burst after idle (default 200)\n"
            "  --quick          the defaults above marked --quick, and the workloads that\n"
            "                   need many threads (nesting 100 and 1,000 deep, bursts,\n"
            "                   their floors on plain threads, suspended populations)\n"
            "                   in the first repetition only\n"
            "  --only LIST      only these metrics, comma-separated (for perf, say)\n"
            "  --skip LIST      not these metrics\n"
            "  --csv FILE       also write the results as CSV, a row per metric and state\n"
            "  --plots DIR      write DIR/states.png, DIR/nesting.png and\n"
            "                   DIR/roundtrip.png with gnuplot, if it is installed\n",
            MAX_REPS);
}

static bool parse_states(const char *list, struct options *o)
{
    const char *p = list;

    for (enum state s = 0; s < S_COUNT; s++) {
        o->state_on[s] = false;
    }
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        bool known = false;
        for (enum state s = 0; s < S_COUNT; s++) {
            if (strlen(states[s].name) == len && strncmp(p, states[s].name, len) == 0) {
                o->state_on[s] = known = true;
            }
        }
        if (!known) {
            return false;
        }
        p += len + (p[len] == ',');
    }
    return true;
}

static void parse(int argc, char **argv, struct options *o)
{
    bool ok = parse_states("pinned,idle,busy", o);

    for (int i = 1; ok && i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--pin") == 0) {
            ok = parse_states("pinned", o);
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (v != NULL && strcmp(a, "--states") == 0) {
            ok = parse_states(v, o), i++;
        } else if (v != NULL && strcmp(a, "--iterations") == 0) {
            o->iterations = atol(v), i++;
        } else if (v != NULL && strcmp(a, "--repetitions") == 0) {
            o->repetitions = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--max-suspended") == 0) {
            o->max_suspended = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--burst") == 0) {
            o->burst = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--idle-ms") == 0) {
            o->idle_ms = atoi(v), i++;
        } else if (v != NULL && strcmp(a, "--only") == 0) {
            o->only = v, i++;
        } else if (v != NULL && strcmp(a, "--skip") == 0) {
            o->skip = v, i++;
        } else if (v != NULL && strcmp(a, "--csv") == 0) {
            o->csv = v, i++;
        } else if (v != NULL && strcmp(a, "--plots") == 0) {
            o->plots = v, i++;
        } else {
            ok = false;
        }
    }
    /* -1: not given. */
    if (o->iterations == -1) {
        o->iterations = o->quick ? 5000 : 20000;
    }
    if (o->repetitions == -1) {
        o->repetitions = o->quick ? 3 : 5;
    }
    if (o->max_suspended == -1) {
        o->max_suspended = o->quick ? 1000 : 10000;
    }
    if (o->burst == -1 || o->burst > o->max_suspended) {
        o->burst = o->max_suspended < 1000 ? o->max_suspended : 1000;
    }
    if (!ok || o->iterations < 1 || o->repetitions < 1 || o->repetitions > MAX_REPS ||
        o->max_suspended < 0 || o->burst < 0 || o->idle_ms < 0) {
        usage(stderr);
        exit(2);
    }
}

static void print_machine(const struct options *o)
{
    char model[256] = "unknown CPU";
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    long allowed = sysconf(_SC_NPROCESSORS_ONLN);

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
#ifdef __linux__
    allowed = CPU_COUNT(&original_cpus);
#endif
    printf("cothread %s benchmark: %s, %ld CPUs online, %ld allowed", PACKAGE_VERSION, model,
           sysconf(_SC_NPROCESSORS_ONLN), allowed);
#ifdef __linux__
    printf(", pinned state and competitor on CPU %d", pin_cpu);
#endif
    printf("\n%ld iterations, %d interleaved repetitions, stack %zu KiB, pool %u, "
           "at most %d coroutines alive, burst %d after %d ms idle\n", o->iterations,
           o->repetitions, cothread_get_stack_size() / 1024, cothread_get_pool_size(),
           o->max_suspended, o->burst, o->idle_ms);
    printf("states:");
    for (enum state s = 0; s < S_COUNT; s++) {
        if (o->state_on[s]) {
            printf(" %s", states[s].name);
        }
    }
    if (load_average() >= 0) {
        printf("; load average %.2f at the start", load_average());
    }
    printf("\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct options o = {
        .iterations = -1, .repetitions = -1, .max_suspended = -1, .burst = -1, .idle_ms = 200,
    };
    bool pinnable = affinity_init();
    int alive;

    parse(argc, argv, &o);
    if (o.state_on[S_PINNED] && !pinnable) {
        fprintf(stderr, "bench: the pinned state needs sched_setaffinity (Linux); skipped\n");
        o.state_on[S_PINNED] = false;
    }
    alive = o.max_suspended > o.burst ? o.max_suspended : o.burst;
    parked = calloc((size_t)alive + 1, sizeof(*parked));
    burst_co = calloc((size_t)o.burst + 1, sizeof(*burst_co));
    if (parked == NULL || burst_co == NULL) {
        perror("bench");
        return 1;
    }
    print_machine(&o);

    for (enum state s = 0; s < S_COUNT; s++) {
        if (!o.state_on[s]) {
            continue;
        }
        current = s;
        state_load[s] = load_average();
        if (!enter_state(s)) {
            fprintf(stderr, "bench: cannot set up the %s state; skipped\n", states[s].name);
            stop_competitor();
            continue;
        }
        state_ran[s] = true;
        for (int rep = 0; rep < o.repetitions; rep++) {
            repetition = rep;
            run_repetition(&o, rep);
            fprintf(stderr, "%s: repetition %d of %d done\n", states[s].name, rep + 1,
                    o.repetitions);
        }
        stop_competitor();
    }
    set_pinned(false);

    for (enum state s = 0; s < S_COUNT; s++) {
        if (state_ran[s]) {
            report_state(s, &o);
        }
    }
    report_summary();
    printf("\npeak RSS of the run %.1f MiB (getrusage)", peak_rss_kib() / 1024.0);
    if (load_average() >= 0) {
        printf("; load average %.2f at the end", load_average());
    }
    printf("\n\n== targets (issue 12; timings never fail the build, the exit status stays 0)\n");
    for (enum state s = 0; s < S_COUNT; s++) {
        if (state_ran[s]) {
            targets(s, true);
        }
    }
    printf("  %d target%s missed\n", targets_failed, targets_failed == 1 ? "" : "s");
    if (o.csv != NULL) {
        write_csv(o.csv);
    }
    if (o.plots != NULL) {
        if (!gnuplot_present()) {
            printf("gnuplot not installed: no plots\n");
        } else if (mkdir(o.plots, 0777) != 0 && errno != EEXIST) {
            /* gnuplot would write the images to standard output instead. */
            fprintf(stderr, "bench: cannot create %s: %s; no plots\n", o.plots,
                    strerror(errno));
        } else {
            plot_states(o.plots);
            plot_nesting(o.plots);
            plot_populations(o.plots);
        }
    }
    free(burst_co);
    free(parked);
    return 0;
}
