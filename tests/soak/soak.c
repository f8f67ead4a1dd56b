/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * soak - random programs on cothread and on the model, for a given time.
 *
 *   soak [--seconds N] [--seed S] [--program I] [--count N] [--small]
 *        [--max-ops N] [--max-coroutines N] [--max-depth N]
 *        [--deep-one-in N] [--break wake-order|depth-first|mutex-fifo] [--timeout SECONDS]
 *
 * Program I of seed S is generated from S and I alone, so a failure is
 * replayed with --seed S --program I. --small is for the analysis tools
 * (smaller programs, shallower nesting). --break makes the model wrong on
 * purpose, to show that a difference is found, reported and shrunk.
 *
 * Exits 0 when every program agreed with the model, 1 after printing the
 * first failure and the shortest program found that still fails.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "soak.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soak [--seconds N] [--seed S] [--program I] [--count N] [--small]\n"
            "            [--max-ops N] [--max-coroutines N] [--max-depth N] [--deep-one-in N]\n"
            "            [--break wake-order|depth-first|mutex-fifo] [--timeout SECONDS]\n");
    exit(2);
}

static unsigned long long number(const char *s)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || *s == '\0' || *end != '\0') {
        fprintf(stderr, "soak: not a number: %s\n", s);
        usage();
    }
    return v;
}

int main(int argc, char **argv)
{
    struct soak_params sp = {
        .max_ops = 300, .max_coroutines = 160, .max_depth = SOAK_MAX_DEPTH,
        .vary_pool = !soak_under_tool(), .brk = BREAK_NONE, .timeout = 60,
        .shrink_runs = 20000, .deep_one_in = 6,
    };
    double seconds = 60, start, last_note;
    uint64_t seed;
    long first = 0, count = -1;
    long programs = 0;
    long long events = 0, ops = 0, coroutines = 0, switches = 0, waits = 0;
    int deepest = 0;
    bool seeded = false, one = false;

    if (soak_under_tool()) {
        sp.timeout = 600;
    }
    seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    static char flags[512];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        /* What shapes the programs goes into the replay command. */
        if (strcmp(a, "--seconds") != 0 && strcmp(a, "--seed") != 0 &&
            strcmp(a, "--program") != 0 && strcmp(a, "--count") != 0) {
            size_t used = strlen(flags);
            snprintf(flags + used, sizeof(flags) - used, "%s%s%s%s", used ? " " : "", a,
                     strcmp(a, "--small") == 0 || v == NULL ? "" : " ",
                     strcmp(a, "--small") == 0 || v == NULL ? "" : v);
        }
        if (strcmp(a, "--small") == 0) {
            sp.max_ops = 60;
            sp.max_coroutines = 24;
            sp.max_depth = 24;
            sp.shrink_runs = 300;
            continue;
        }
        if (v == NULL) {
            usage();
        }
        i++;
        if (strcmp(a, "--seconds") == 0) {
            seconds = (double)number(v);
        } else if (strcmp(a, "--seed") == 0) {
            seed = number(v);
            seeded = true;
        } else if (strcmp(a, "--program") == 0) {
            first = (long)number(v);
            one = true;
        } else if (strcmp(a, "--count") == 0) {
            count = (long)number(v);
        } else if (strcmp(a, "--max-ops") == 0) {
            sp.max_ops = (int)number(v);
        } else if (strcmp(a, "--max-coroutines") == 0) {
            sp.max_coroutines = (int)number(v);
        } else if (strcmp(a, "--max-depth") == 0) {
            sp.max_depth = (int)number(v);
        } else if (strcmp(a, "--deep-one-in") == 0) {
            sp.deep_one_in = (int)number(v);
        } else if (strcmp(a, "--timeout") == 0) {
            sp.timeout = (double)number(v);
        } else if (strcmp(a, "--break") == 0) {
            if (strcmp(v, "wake-order") == 0) {
                sp.brk = BREAK_WAKE_ORDER;
            } else if (strcmp(v, "depth-first") == 0) {
                sp.brk = BREAK_DEPTH_FIRST;
            } else if (strcmp(v, "mutex-fifo") == 0) {
                sp.brk = BREAK_MUTEX_FIFO;
            } else {
                usage();
            }
        } else {
            usage();
        }
    }
    if (sp.max_ops < 1 || sp.max_coroutines < 1 || sp.max_coroutines > SOAK_MAX_CO ||
        sp.max_depth < 1 || sp.max_depth > SOAK_MAX_DEPTH) {
        fprintf(stderr, "soak: --max-coroutines goes up to %d, --max-depth to %d\n",
                SOAK_MAX_CO, SOAK_MAX_DEPTH);
        return 2;
    }
    sp.flags = flags;
    if (one && !seeded) {
        fprintf(stderr, "soak: --program needs --seed\n");
        return 2;
    }
    if (one) {
        count = 1;
    }
    printf("soak: seed %#" PRIx64 "%s; %s; programs of up to %d operations, %d coroutines, "
           "nesting %d%s\n", seed, seeded ? "" : " (replay with SEED=)",
           one ? "one program" : "time-limited", sp.max_ops, sp.max_coroutines,
           sp.max_depth, sp.brk != BREAK_NONE ? "; the model is BROKEN on purpose" : "");
    fflush(stdout);

    start = last_note = now();
    for (long i = first; count < 0 || i < first + count; i++) {
        struct program p;
        struct trace t;
        struct model_stats st;
        struct outcome out;

        if (!one && now() - start >= seconds) {
            break;
        }
        trace_init(&t);
        if (!program_generate(&p, soak_mix(seed, (uint64_t)i), &sp, &t, &st)) {
            printf("soak: FAILED: a soak bug in program %ld of seed %#" PRIx64
                   " (see stderr); replay it with: make soak SEED=%#" PRIx64
                   " PROGRAM=%ld%s%s%s\n", i, seed, seed, i, flags[0] ? " SOAK_FLAGS=\"" : "",
                   flags, flags[0] ? "\"" : "");
            return 1;
        }
        cothread_run(&p, &t, sp.timeout, &out);
        if (out.kind != OUT_OK) {
            fflush(stdout);
            soak_report(stdout, seed, i, &p, &t, &out, &sp);
            printf("soak: %ld programs passed before this one\n", programs);
            return 1;
        }
        programs++;
        events += t.n;
        ops += program_ops(&p);
        coroutines += program_coroutines(&p);
        switches += st.switches;
        waits += st.lock_waits;
        if (st.max_depth > deepest) {
            deepest = st.max_depth;
        }
        outcome_free(&out);
        trace_free(&t);
        program_free(&p);
        if (now() - last_note >= 60) {
            last_note = now();
            printf("soak: %.0f s, %ld programs, %lld events\n", last_note - start, programs,
                   events);
            fflush(stdout);
        }
    }
    printf("soak: passed: %ld programs (seed %#" PRIx64 "), %lld events, %lld operations, "
           "%lld coroutines, %lld switches, %lld waits in a line, deepest nesting %d, "
           "%.1f s\n", programs, seed, events, ops, coroutines, switches, waits, deepest,
           now() - start);
    return 0;
}
