/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shrinking a failing program: delete whole coroutines, then runs of
 * operations (halving the run length down to one), then helper threads,
 * keeping each deletion after which the program is still legal on the
 * model (and every coroutine it creates still finishes) and still fails on
 * cothread; repeat until nothing more can go. What is left is printed with
 * the coroutines numbered anew.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "soak.h"

static bool refers_to_coroutine(const struct op *op)
{
    return op->kind == OP_CREATE || op->kind == OP_ENTER ||
           op->kind == OP_ENTER_IF_INACTIVE || op->kind == OP_ENTERED;
}

static void delete_ops(struct script *s, int at, int n)
{
    memmove(&s->ops[at], &s->ops[at + n], sizeof(*s->ops) * (size_t)(s->len - at - n));
    s->len -= n;
}

/* Deletes coroutine c: its script and every operation naming it. */
static void delete_coroutine(struct program *p, int c)
{
    for (int s = -1; s < p->nco; s++) {
        struct script *sc = s < 0 ? &p->main : &p->co[s];
        for (int i = 0; i < sc->len;) {
            if (refers_to_coroutine(&sc->ops[i]) && sc->ops[i].a == c) {
                delete_ops(sc, i, 1);
            } else {
                i++;
            }
        }
    }
    p->co[c].len = 0;
}

static bool is_created(const struct program *p, int c)
{
    for (int s = -1; s < p->nco; s++) {
        const struct script *sc = s < 0 ? &p->main : &p->co[s];
        for (int i = 0; i < sc->len; i++) {
            if (sc->ops[i].kind == OP_CREATE && sc->ops[i].a == c) {
                return true;
            }
        }
    }
    return false;
}

struct shrinker {
    const struct soak_params *sp;
    int runs;
};

/* What shrinking makes smaller, in this order: operations, coroutines,
 * coroutines created by coroutines, helper threads, a pool setting. */
struct size {
    long v[5];
};

static struct size size_of(const struct program *p)
{
    struct size z = { { program_ops(p), program_coroutines(p), 0, 0, p->pool >= 0 } };

    for (int s = -1; s < p->nco; s++) {
        const struct script *sc = s < 0 ? &p->main : &p->co[s];
        for (int i = 0; i < sc->len; i++) {
            z.v[2] += s >= 0 && sc->ops[i].kind == OP_CREATE;
            z.v[3] += sc->ops[i].via != 0;
        }
    }
    return z;
}

static bool smaller(struct size a, struct size b)
{
    for (int i = 0; i < 5; i++) {
        if (a.v[i] != b.v[i]) {
            return a.v[i] < b.v[i];
        }
    }
    return false;
}

/*
 * Makes q legal again after a deletion: the model runs it, dropping the
 * operations that have become illegal where they now run, and finishes
 * what the deletion left unfinished (unlocks at the end of a coroutine,
 * wake-ups and enters at the end of main). False if q cannot be repaired.
 */
static bool repair(struct program *q, const struct soak_params *sp, struct trace *t)
{
    struct gen_state g = { .sp = sp, .rng = 1, .budget = 0, .repair = true };
    const char *why;

    q->main.closed = false;
    for (int c = 0; c < q->nco; c++) {
        q->co[c].closed = false;
    }
    why = model_run(q, sp->brk, sp->max_depth, &g, t, NULL);
    q->main.closed = true;
    for (int c = 0; c < q->nco; c++) {
        q->co[c].closed = true;
    }
    return why == NULL;
}

/* Whether q, repaired, is smaller than p, and still fails. */
static bool still_fails(struct shrinker *sh, struct program *q, const struct program *p)
{
    struct trace t;
    struct outcome out;
    bool fails = false;

    trace_init(&t);
    if (repair(q, sh->sp, &t) && smaller(size_of(q), size_of(p))) {
        cothread_run(q, &t, sh->sp->timeout, &out);
        sh->runs++;
        fails = out.kind != OUT_OK;
        outcome_free(&out);
    }
    trace_free(&t);
    return fails;
}

static bool out_of_runs(const struct shrinker *sh)
{
    return sh->runs >= sh->sp->shrink_runs;
}

/* Numbers the coroutines left 0, 1, ... in the order of their ids. */
static void renumber(struct program *p)
{
    int map[SOAK_MAX_CO], n = 0;
    struct program q;

    for (int c = 0; c < p->nco; c++) {
        map[c] = is_created(p, c) ? n++ : -1;
    }
    program_init(&q);
    program_copy(&q, p);
    for (int s = -1; s < q.nco; s++) {
        struct script *sc = s < 0 ? &q.main : &q.co[s];
        for (int i = 0; i < sc->len; i++) {
            if (refers_to_coroutine(&sc->ops[i])) {
                sc->ops[i].a = (uint16_t)map[sc->ops[i].a];
            }
        }
    }
    program_free(p);
    p->seed = q.seed;
    p->pool = q.pool;
    p->main = q.main;
    for (int c = 0; c < q.nco; c++) {
        if (map[c] >= 0) {
            p->co[map[c]] = q.co[c];
        } else {
            free(q.co[c].ops);
        }
    }
    p->nco = n;
}

int program_shrink(struct program *p, const struct soak_params *sp)
{
    struct shrinker sh = { .sp = sp, .runs = 0 };
    struct program q;
    bool progress = true;

    program_init(&q);
    while (progress && !out_of_runs(&sh)) {
        progress = false;
        /* A coroutine created by another is created by main instead, so
         * that the one that created it can go. */
        for (int s = 0; s < p->nco && !out_of_runs(&sh); s++) {
            for (int i = 0; i < p->co[s].len && !out_of_runs(&sh); i++) {
                if (p->co[s].ops[i].kind != OP_CREATE) {
                    continue;
                }
                struct op create = p->co[s].ops[i];
                program_copy(&q, p);
                delete_ops(&q.co[s], i, 1);
                create.via = 0;
                script_push(&q.main, create);
                memmove(&q.main.ops[1], &q.main.ops[0],
                        sizeof(*q.main.ops) * (size_t)(q.main.len - 1));
                q.main.ops[0] = create;
                if (still_fails(&sh, &q, p)) {
                    program_copy(p, &q);
                    progress = true;
                }
            }
        }
        for (int c = p->nco - 1; c >= 0 && !out_of_runs(&sh); c--) {
            if (!is_created(p, c)) {
                continue;
            }
            program_copy(&q, p);
            delete_coroutine(&q, c);
            if (still_fails(&sh, &q, p)) {
                program_copy(p, &q);
                progress = true;
            }
        }
        for (int s = -1; s < p->nco && !out_of_runs(&sh); s++) {
            for (int n = (s < 0 ? p->main.len : p->co[s].len) / 2; n >= 1; n /= 2) {
                for (int i = 0; !out_of_runs(&sh); ) {
                    struct script *cur = s < 0 ? &p->main : &p->co[s];
                    if (i + n > cur->len) {
                        break;
                    }
                    program_copy(&q, p);
                    delete_ops(s < 0 ? &q.main : &q.co[s], i, n);
                    if (still_fails(&sh, &q, p)) {
                        program_copy(p, &q);
                        progress = true;
                    } else {
                        i += n;
                    }
                }
            }
        }
        if (p->pool >= 0 && !out_of_runs(&sh)) {
            program_copy(&q, p);
            q.pool = -1;
            if (still_fails(&sh, &q, p)) {
                program_copy(p, &q);
                progress = true;
            }
        }
        for (int s = -1; s < p->nco && !out_of_runs(&sh); s++) {
            struct script *cur = s < 0 ? &p->main : &p->co[s];
            for (int i = 0; i < cur->len && !out_of_runs(&sh); i++) {
                if (cur->ops[i].via == 0) {
                    continue;
                }
                program_copy(&q, p);
                (s < 0 ? &q.main : &q.co[s])->ops[i].via = 0;
                if (still_fails(&sh, &q, p)) {
                    program_copy(p, &q);
                    cur = s < 0 ? &p->main : &p->co[s];
                    progress = true;
                }
            }
        }
    }
    program_free(&q);
    renumber(p);
    return sh.runs;
}

int soak_report(FILE *f, uint64_t seed, long index, struct program *p,
                const struct trace *t, const struct outcome *out,
                const struct soak_params *sp)
{
    struct trace t2;
    struct outcome out2;
    int runs;

    fprintf(f, "soak: FAILED: seed %#llx, program %ld: %s\n",
            (unsigned long long)seed, index, outcome_name(out->kind));
    fprintf(f, "soak: replay it with: make soak SEED=%#llx PROGRAM=%ld",
            (unsigned long long)seed, index);
    if (sp->flags != NULL && sp->flags[0] != '\0') {
        fprintf(f, " SOAK_FLAGS=\"%s\"", sp->flags);
    }
    fprintf(f, "%s\n", out->kind == OUT_TOOL ? " (under the same tool)" : "");
    outcome_print(f, p, t, out);
    fprintf(f, "soak: shrinking the program (%d operations, %d coroutines)\n",
            program_ops(p), program_coroutines(p));
    fflush(f);
    runs = program_shrink(p, sp);
    trace_init(&t2);
    if (model_run(p, sp->brk, sp->max_depth, NULL, &t2, NULL) != NULL) {
        fprintf(f, "soak: the shrunk program is not legal: a shrinker bug\n");
        trace_free(&t2);
        return runs;
    }
    cothread_run(p, &t2, sp->timeout, &out2);
    fprintf(f, "soak: the shortest program found (seed %#llx, program %ld, after %d runs):\n",
            (unsigned long long)seed, index, runs);
    program_print(f, p);
    outcome_print(f, p, &t2, &out2);
    if (out2.kind == OUT_OK) {
        fprintf(f, "soak: (this one passed when run again: the failure is not deterministic)\n");
    }
    outcome_free(&out2);
    trace_free(&t2);
    return runs;
}
