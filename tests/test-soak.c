/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The differential soak's fixed part (make soak is the long one, see
 * tests/soak/): fixed-seed random programs must run on cothread exactly as
 * on the model, one of them nesting 128 deep; and a model broken on
 * purpose must be caught, reported with its seed and shrunk to a small
 * program, so that the soak cannot pass by comparing nothing.
 *
 * Every cothread run happens in a child process (tests/soak/run.c), whose
 * coroutine bodies only record events: the assertions run here, after it
 * ended.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "soak/soak.h"

#define SEED 0x5eed2026u

static struct soak_params params(void)
{
    struct soak_params sp = {
        .max_ops = 60, .max_coroutines = 24, .max_depth = SOAK_MAX_DEPTH,
        .vary_pool = !soak_under_tool(), .brk = BREAK_NONE,
        .timeout = under_valgrind() ? 600 : 60, .shrink_runs = 400, .deep_one_in = 0,
    };
    return sp;
}

/* How many programs: fewer where every switch costs a hundred times more. */
static int programs(int native)
{
    if (under_valgrind()) {
        return native / 10;
    }
    if (under_qemu_user()) {
        return native / 4;
    }
    return native;
}

/* Runs program n of seed: true if cothread agrees with the model; prints
 * the difference if not. */
static bool agrees(uint64_t seed, long n, const struct soak_params *sp,
                   struct model_stats *st)
{
    struct program p;
    struct trace t;
    struct outcome out;
    bool ok;

    trace_init(&t);
    assert_true(program_generate(&p, soak_mix(seed, (uint64_t)n), sp, &t, st));
    cothread_run(&p, &t, sp->timeout, &out);
    ok = out.kind == OUT_OK;
    if (!ok) {
        soak_report(stdout, seed, n, &p, &t, &out, sp);
    }
    outcome_free(&out);
    trace_free(&t);
    program_free(&p);
    return ok;
}

static void test_fixed_seeds(void **state)
{
    struct soak_params sp = params();
    int n = programs(200), waits = 0, switches = 0;

    for (long i = 0; i < n; i++) {
        struct model_stats st;
        assert_true(agrees(SEED, i, &sp, &st));
        waits += st.lock_waits;
        switches += st.switches;
    }
    /* The programs did wait in lines and switch: they were not empty. */
    print_message("%d programs, %d switches, %d waits in a line\n", n, switches, waits);
    assert_true(waits > n / 2);
    assert_true(switches > 5 * n);
}

/* One program that nests as deep as QEMU code may (128). */
static void test_deep(void **state)
{
    struct soak_params sp = params();
    struct model_stats st;

    sp.max_coroutines = SOAK_MAX_DEPTH + 8;
    sp.max_ops = 20;
    sp.deep_one_in = 1;
    assert_true(agrees(SEED, 0, &sp, &st));
    assert_int_equal(st.max_depth, SOAK_MAX_DEPTH);
}

/* Programs that once found a bug in the soak itself, with make soak's
 * default settings: seed 0xf5de3a5999f90a0c, program 15824 had a helper
 * thread wake a queue from 128 levels down (a frame too deep). */
static void test_regressions(void **state)
{
    struct soak_params sp = params();
    struct model_stats st;

    sp.max_ops = 300;
    sp.max_coroutines = 160;
    sp.deep_one_in = 6;
    assert_true(agrees(0xf5de3a5999f90a0cull, 15824, &sp, &st));
    assert_int_equal(st.max_depth, SOAK_MAX_DEPTH);
}

/* A program the model writes must replay on the model to the same trace
 * (program_generate checks that itself), and a deletion the shrinker
 * could make must be refused when it makes the program illegal. */
static void test_model_rejects_illegal(void **state)
{
    struct soak_params sp = params();
    struct program p;
    struct trace t;
    const struct op create = { OP_CREATE, 0, 0, 0 }, enter = { OP_ENTER, 0, 0, 0 };
    const struct op lock = { OP_LOCK, 0, 0, 0 }, yield = { OP_YIELD, 0, 0, 0 };

    trace_init(&t);
    program_init(&p);
    p.nco = 1;
    script_push(&p.main, enter);        /* not created yet */
    assert_non_null(model_run(&p, BREAK_NONE, sp.max_depth, NULL, &t, NULL));
    program_free(&p);

    p.nco = 1;
    script_push(&p.main, create);
    script_push(&p.main, enter);
    script_push(&p.co[0], lock);        /* returns holding the lock */
    assert_non_null(model_run(&p, BREAK_NONE, sp.max_depth, NULL, &t, NULL));
    p.co[0].ops[0] = yield;             /* never resumed: lost */
    assert_non_null(model_run(&p, BREAK_NONE, sp.max_depth, NULL, &t, NULL));
    script_push(&p.main, enter);        /* resumed: fine */
    assert_null(model_run(&p, BREAK_NONE, sp.max_depth, NULL, &t, NULL));
    program_free(&p);
    trace_free(&t);
}

/*
 * The model broken on purpose (a coroutine's wake-ups run newest first):
 * a fixed seed must find it within a few programs, the report must name
 * the seed and the program, and the shrinker must cut it down to a few
 * operations that still show the difference.
 */
static void test_broken_model_is_caught(void **state)
{
    struct soak_params sp = params();
    struct program p;
    struct trace t;
    struct outcome out;
    long n;
    int before;
    char text[65536];
    size_t len;
    FILE *f;

    skip_without_fork();
    sp.brk = BREAK_WAKE_ORDER;
    sp.shrink_runs = under_valgrind() ? 150 : 400;
    for (n = 0; n < 50; n++) {
        trace_init(&t);
        assert_true(program_generate(&p, soak_mix(SEED, (uint64_t)n), &sp, &t, NULL));
        cothread_run(&p, &t, sp.timeout, &out);
        if (out.kind != OUT_OK) {
            break;
        }
        outcome_free(&out);
        trace_free(&t);
        program_free(&p);
    }
    assert_true(n < 50);
    assert_int_equal(out.kind, OUT_DIVERGED);

    before = program_ops(&p);
    f = tmpfile();
    assert_non_null(f);
    soak_report(f, SEED, n, &p, &t, &out, &sp);
    assert_true(program_ops(&p) < before);
    rewind(f);
    len = fread(text, 1, sizeof(text) - 1, f);
    text[len] = '\0';
    fclose(f);
    print_message("the model is broken on purpose here: the report below is expected\n");
    fputs(text, stdout);            /* print_message() cuts at 1 KiB */

    char expect[128];
    snprintf(expect, sizeof(expect), "make soak SEED=%#x PROGRAM=%ld", SEED, n);
    assert_non_null(strstr(text, expect));
    assert_non_null(strstr(text, "the shortest program found"));
    assert_non_null(strstr(text, "cothread and the model differ"));
    /* Two waiters and a coroutine that wakes them both, with main's
     * creates and enters and their unlocks: about 16 operations. */
    assert_true(program_ops(&p) <= 20);
    assert_true(program_coroutines(&p) <= 4);

    /* And the shrunk program still differs, and only because of the
     * break: the real model agrees with cothread on it. */
    outcome_free(&out);
    trace_free(&t);
    trace_init(&t);
    assert_null(model_run(&p, BREAK_WAKE_ORDER, sp.max_depth, NULL, &t, NULL));
    cothread_run(&p, &t, sp.timeout, &out);
    assert_int_equal(out.kind, OUT_DIVERGED);
    outcome_free(&out);
    if (model_run(&p, BREAK_NONE, sp.max_depth, NULL, &t, NULL) == NULL) {
        cothread_run(&p, &t, sp.timeout, &out);
        assert_int_equal(out.kind, OUT_OK);
        outcome_free(&out);
    }
    trace_free(&t);
    program_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_rejects_illegal),
        cmocka_unit_test(test_fixed_seeds),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_regressions),
        cmocka_unit_test(test_broken_model_is_caught),
    };
    return cmocka_run_group_tests_name("soak", tests, NULL, NULL);
}
