/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The long-running load: coroutines held suspended while threads churn
 * through create/enter/finish. Each churner draws its operations from a
 * generator seeded by its index, so a run does the same mix every time.
 * Bodies record what they see in plain memory owned by the churner; the
 * churner compares after qemu_coroutine_enter() returns, when the handoff
 * has ordered the body's writes before its reads.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

/* Process figures */

long load_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size, resident;
    int n;

    if (f == NULL) {
        return -1;
    }
    n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2) {
        return -1;
    }
    return resident * sysconf(_SC_PAGESIZE);
}

long load_status_field(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(name);
    long value = -1;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, len) == 0 && line[len] == ':') {
            value = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

long load_threads_settled(long want, int timeout_ms)
{
    long now = load_status_field("Threads");

    for (int waited = 0; now > want && waited < timeout_ms; waited += 10) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        now = load_status_field("Threads");
    }
    return now;
}

/* Judgements */

bool load_rss_judge(const long *samples, size_t n, size_t warmup, double limit_pct,
                    struct load_rss_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (n < warmup + 2) {
        return false;
    }
    v->first = v->min = v->max = samples[warmup];
    v->last = samples[n - 1];
    for (size_t i = warmup; i < n; i++) {
        if (samples[i] <= 0) {
            return false;
        }
        if (samples[i] < v->min) {
            v->min = samples[i];
        }
        if (samples[i] > v->max) {
            v->max = samples[i];
        }
    }
    v->spread_pct = 100.0 * (double)(v->max - v->min) / (double)v->min;
    v->growth_pct = 100.0 * (double)(v->last - v->first) / (double)v->first;
    v->ok = v->spread_pct <= limit_pct;
    return true;
}

bool load_threads_judge(long now, long baseline, unsigned pool_size)
{
    return now >= 1 && baseline >= 1 && now <= baseline + (long)pool_size;
}

/* The suspended coroutines */

static void coroutine_fn parked_body(void *opaque)
{
    struct load_parked *p = opaque;

    for (;;) {
        qemu_coroutine_yield();
        if (p->release) {
            break;
        }
        p->wakes++;
    }
    p->finished = true;
}

size_t load_park(struct load_parked *parked, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&parked[i], 0, sizeof(parked[i]));
        parked[i].co = cothread_try_create(parked_body);
        if (parked[i].co == NULL) {
            return i;
        }
        qemu_coroutine_enter(parked[i].co, &parked[i]);
    }
    return n;
}

long load_release(struct load_parked *parked, size_t n)
{
    long wrong = 0;

    for (size_t i = 0; i < n; i++) {
        parked[i].release = true;
        qemu_coroutine_enter(parked[i].co, NULL);
        parked[i].co = NULL;
        if (!parked[i].finished || parked[i].wakes != parked[i].resumes) {
            wrong++;
        }
    }
    return wrong;
}

/* The churn */

struct churner {
    const struct load_config *cfg;
    struct load_result *res;    /* rss[] only: each slot has one writer */
    atomic_long *next_op;
    int index;
    uint64_t rng;
    long ops, coroutines, errors;
    char first_error[160];
    void *leaked;               /* list of the blocks leaked on purpose */
    pthread_t thread;
};

static uint64_t next_random(struct churner *c)
{
    /* xorshift64: enough to mix the operations, the same on every run */
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void wrong(struct churner *c, const char *what, long got, long want)
{
    if (c->errors++ == 0) {
        snprintf(c->first_error, sizeof(c->first_error),
                 "churner %d, operation %ld: %s: %ld instead of %ld",
                 c->index, c->ops, what, got, want);
    }
}

struct steps {
    int yields;         /* how many times to yield before finishing */
    int depth;          /* nesting below this one */
    int steps;          /* what the body did */
    bool finished;
};

/* Finishes at once. */
static void coroutine_fn finish_body(void *opaque)
{
    struct steps *s = opaque;
    s->steps++;
    s->finished = true;
}

/* Yields s->yields times, then finishes. */
static void coroutine_fn yield_body(void *opaque)
{
    struct steps *s = opaque;

    for (int i = 0; i < s->yields; i++) {
        s->steps++;
        qemu_coroutine_yield();
    }
    s->steps++;
    s->finished = true;
}

/* A chain s[0], s[1], ...: each creates and runs the next, which yields
 * to it once; then it yields once itself. Every level takes two steps. */
static void coroutine_fn nest_body(void *opaque)
{
    struct steps *s = opaque;

    if (s->depth > 0) {
        Coroutine *child = qemu_coroutine_create(nest_body);
        qemu_coroutine_enter(child, s + 1);     /* child yields */
        s->steps++;
        qemu_coroutine_enter(child, NULL);      /* child finishes */
    } else {
        s->steps++;
    }
    qemu_coroutine_yield();
    s->steps++;
    s->finished = true;
}

static void op_finish(struct churner *c)
{
    struct steps s = { 0 };

    qemu_coroutine_enter(qemu_coroutine_create(finish_body), &s);
    c->coroutines++;
    if (!s.finished || s.steps != 1) {
        wrong(c, "finish: steps", s.steps, 1);
    }
}

static void op_yield(struct churner *c)
{
    struct steps s = { .yields = 1 + (int)(next_random(c) % 4) };
    Coroutine *co = qemu_coroutine_create(yield_body);
    int enters = 0;

    c->coroutines++;
    qemu_coroutine_enter(co, &s);
    for (enters = 1; !s.finished && enters <= s.yields; enters++) {
        qemu_coroutine_enter(co, NULL);
    }
    if (!s.finished || enters != s.yields + 1 || s.steps != s.yields + 1) {
        wrong(c, "yield: enters", enters, s.yields + 1);
    }
}

static void op_nest(struct churner *c)
{
    struct steps s[LOAD_MAX_DEPTH + 1];
    int depth = 1 + (int)(next_random(c) % LOAD_MAX_DEPTH);
    Coroutine *top = qemu_coroutine_create(nest_body);

    memset(s, 0, sizeof(s));
    for (int i = 0; i <= depth; i++) {
        s[i].depth = depth - i;
    }
    c->coroutines += depth + 1;
    qemu_coroutine_enter(top, &s[0]);   /* top yields, its chain done */
    qemu_coroutine_enter(top, NULL);
    for (int i = 0; i <= depth; i++) {
        if (!s[i].finished || s[i].steps != 2) {
            wrong(c, "nest: steps of a level", s[i].steps, 2);
        }
    }
}

/* Holds LOAD_BURST coroutines suspended at once, then finishes them. */
static void op_burst(struct churner *c)
{
    Coroutine *co[LOAD_BURST];
    struct steps s[LOAD_BURST];

    memset(s, 0, sizeof(s));
    for (int i = 0; i < LOAD_BURST; i++) {
        s[i].yields = 1;
        co[i] = qemu_coroutine_create(yield_body);
        qemu_coroutine_enter(co[i], &s[i]);
    }
    c->coroutines += LOAD_BURST;
    for (int i = LOAD_BURST - 1; i >= 0; i--) {
        qemu_coroutine_enter(co[i], NULL);
        if (!s[i].finished || s[i].steps != 2) {
            wrong(c, "burst: steps", s[i].steps, 2);
        }
    }
}

/* Resumes one of the suspended coroutines this churner owns (those whose
 * index is the churner's modulo the number of churners): a coroutine
 * parked on another thread's behalf is entered from this one. */
static void op_resume(struct churner *c)
{
    const struct load_config *cfg = c->cfg;
    size_t per = cfg->parked_count / (size_t)cfg->churners;
    size_t i;
    struct load_parked *p;
    long before;

    if (per == 0) {
        op_finish(c);
        return;
    }
    i = (size_t)(next_random(c) % per) * (size_t)cfg->churners + (size_t)c->index;
    p = &cfg->parked[i];
    before = p->wakes;
    p->resumes++;
    qemu_coroutine_enter(p->co, NULL);
    if (p->wakes != before + 1) {
        wrong(c, "resume: wakes", p->wakes, before + 1);
    }
}

static void leak(struct churner *c)
{
    /* The block is touched, so that it is resident, and chained, so that it
     * stays reachable (a deliberate leak of the test, not of the library). */
    void **block = malloc(c->cfg->leak_per_op < sizeof(void *) ? sizeof(void *)
                                                                : c->cfg->leak_per_op);
    if (block != NULL) {
        memset(block, 0x5a, c->cfg->leak_per_op);
        *block = c->leaked;
        c->leaked = block;
    }
}

static void *churn_main(void *arg)
{
    struct churner *c = arg;
    const struct load_config *cfg = c->cfg;
    long step = cfg->ops / (LOAD_SAMPLES - 1);

    for (;;) {
        long op = atomic_fetch_add(c->next_op, 1);
        unsigned kind;

        if (op >= cfg->ops) {
            break;
        }
        if (cfg->sample_rss && step > 0 && op % step == 0 && op / step < LOAD_SAMPLES - 1) {
            c->res->rss[op / step] = load_rss_bytes();
            c->res->threads[op / step] = load_status_field("Threads");
        }
        kind = (unsigned)(next_random(c) % 100);
        if (kind < 40) {
            op_finish(c);
        } else if (kind < 65) {
            op_yield(c);
        } else if (kind < 83) {
            op_nest(c);
        } else if (kind < 98) {
            op_resume(c);
        } else {
            op_burst(c);
        }
        if (cfg->leak_per_op > 0) {
            leak(c);
        }
        c->ops++;
    }
    return NULL;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool load_churn(const struct load_config *cfg, struct load_result *res)
{
    struct churner *c = calloc((size_t)cfg->churners, sizeof(*c));
    atomic_long next_op;
    int started = 0;
    double t0;
    int err = 0;

    memset(res, 0, sizeof(*res));
    for (size_t i = 0; i < LOAD_SAMPLES; i++) {
        res->rss[i] = -1;
        res->threads[i] = -1;
    }
    if (c == NULL) {
        return false;
    }
    atomic_init(&next_op, 0);
    t0 = now_seconds();
    for (; started < cfg->churners; started++) {
        c[started].cfg = cfg;
        c[started].res = res;
        c[started].next_op = &next_op;
        c[started].index = started;
        c[started].rng = 0x9e3779b97f4a7c15u * (uint64_t)(started + 1);
        err = pthread_create(&c[started].thread, NULL, churn_main, &c[started]);
        if (err != 0) {
            /* The ones started still do all the operations. */
            break;
        }
    }
    for (int i = 0; i < started; i++) {
        pthread_join(c[i].thread, NULL);
        res->ops_done += c[i].ops;
        res->coroutines += c[i].coroutines;
        if (c[i].errors > 0 && res->errors == 0) {
            memcpy(res->first_error, c[i].first_error, sizeof(res->first_error));
        }
        res->errors += c[i].errors;
    }
    res->seconds = now_seconds() - t0;
    if (cfg->sample_rss) {
        res->rss[LOAD_SAMPLES - 1] = load_rss_bytes();
        res->threads[LOAD_SAMPLES - 1] = load_status_field("Threads");
    }
    for (int i = 0; i < started; i++) {
        while (c[i].leaked != NULL) {
            void **block = c[i].leaked;
            c[i].leaked = *block;
            free(block);
        }
    }
    free(c);
    if (err != 0) {
        errno = err;
        return false;
    }
    return true;
}
