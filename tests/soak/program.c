/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Programs and traces: storage, copying, and printing them for people.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "soak.h"

static void *grow(void *p, size_t n)
{
    void *q = realloc(p, n);

    if (q == NULL) {
        fprintf(stderr, "soak: out of memory\n");
        abort();
    }
    return q;
}

uint64_t soak_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The seed of program n of a run: independent of the programs before it,
 * so that one program can be replayed alone. */
uint64_t soak_mix(uint64_t seed, uint64_t n)
{
    uint64_t s = seed ^ (n * 0xd1b54a32d192ed03ull);

    return soak_rand(&s);
}

void program_init(struct program *p)
{
    memset(p, 0, sizeof(*p));
    p->pool = -1;
}

void program_free(struct program *p)
{
    free(p->main.ops);
    for (int i = 0; i < SOAK_MAX_CO; i++) {
        free(p->co[i].ops);
    }
    program_init(p);
}

static void script_copy(struct script *dst, const struct script *src)
{
    *dst = *src;
    dst->ops = NULL;
    dst->cap = 0;
    if (src->len > 0) {
        dst->ops = grow(NULL, sizeof(*dst->ops) * (size_t)src->len);
        memcpy(dst->ops, src->ops, sizeof(*dst->ops) * (size_t)src->len);
        dst->cap = src->len;
    }
}

void program_copy(struct program *dst, const struct program *src)
{
    program_free(dst);
    dst->seed = src->seed;
    dst->pool = src->pool;
    dst->nco = src->nco;
    script_copy(&dst->main, &src->main);
    for (int i = 0; i < src->nco; i++) {
        script_copy(&dst->co[i], &src->co[i]);
    }
}

void script_push(struct script *s, struct op op)
{
    if (s->len == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->ops = grow(s->ops, sizeof(*s->ops) * (size_t)s->cap);
    }
    s->ops[s->len++] = op;
}

int program_ops(const struct program *p)
{
    int n = p->main.len;

    for (int i = 0; i < p->nco; i++) {
        n += p->co[i].len;
    }
    return n;
}

int program_coroutines(const struct program *p)
{
    int n = 0;

    for (int i = 0; i < p->main.len; i++) {
        n += p->main.ops[i].kind == OP_CREATE;
    }
    for (int c = 0; c < p->nco; c++) {
        for (int i = 0; i < p->co[c].len; i++) {
            n += p->co[c].ops[i].kind == OP_CREATE;
        }
    }
    return n;
}

void op_format(char *buf, size_t len, const struct op *op)
{
    static const char *const names[OP_KINDS] = {
        [OP_CREATE] = "create c%d",
        [OP_ENTER] = "enter c%d",
        [OP_ENTER_IF_INACTIVE] = "enter_if_inactive c%d",
        [OP_ENTERED] = "entered c%d?",
        [OP_YIELD] = "yield",
        [OP_LOCK] = "mutex_lock m%d",
        [OP_UNLOCK] = "mutex_unlock m%d",
        [OP_WAIT] = "queue_wait q%d",
        [OP_WAIT_MUTEX] = "queue_wait q%d m%d",
        [OP_NEXT] = "queue_next q%d",
        [OP_ENTER_NEXT] = "enter_next q%d",
        [OP_RESTART_ALL] = "queue_restart_all q%d",
        [OP_EMPTY] = "queue_empty q%d?",
        [OP_RDLOCK] = "rwlock_rdlock rw%d",
        [OP_WRLOCK] = "rwlock_wrlock rw%d",
        [OP_RWUNLOCK] = "rwlock_unlock rw%d",
        [OP_UPGRADE] = "rwlock_upgrade rw%d",
        [OP_DOWNGRADE] = "rwlock_downgrade rw%d",
    };
    int n;

    if (op->kind >= OP_KINDS) {
        snprintf(buf, len, "(bad op %d)", op->kind);
        return;
    }
    /* The formats are the table's literals, checked here by hand: each
     * takes at most two ints. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
    n = snprintf(buf, len, names[op->kind], op->a, op->b);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    if (op->via && n >= 0 && (size_t)n < len) {
        snprintf(buf + n, len - (size_t)n, "  [from helper thread %d]", op->via - 1);
    }
}

static void script_print(FILE *f, const char *name, const struct script *s)
{
    char buf[96];

    fprintf(f, "  %s:%s\n", name, s->len == 0 ? " (returns at once)" : "");
    for (int i = 0; i < s->len; i++) {
        op_format(buf, sizeof(buf), &s->ops[i]);
        fprintf(f, "    %3d  %s\n", i, buf);
    }
}

void program_print(FILE *f, const struct program *p)
{
    char name[16];
    bool created[SOAK_MAX_CO] = { false };

    for (int i = 0; i < p->main.len; i++) {
        if (p->main.ops[i].kind == OP_CREATE && p->main.ops[i].a < SOAK_MAX_CO) {
            created[p->main.ops[i].a] = true;
        }
    }
    for (int c = 0; c < p->nco; c++) {
        for (int i = 0; i < p->co[c].len; i++) {
            if (p->co[c].ops[i].kind == OP_CREATE && p->co[c].ops[i].a < SOAK_MAX_CO) {
                created[p->co[c].ops[i].a] = true;
            }
        }
    }
    fprintf(f, "program: %d coroutines, %d operations", program_coroutines(p),
            program_ops(p));
    if (p->pool >= 0) {
        fprintf(f, ", cothread_set_pool_size(%d) first", p->pool);
    }
    fprintf(f, "\n");
    script_print(f, "main", &p->main);
    for (int c = 0; c < p->nco; c++) {
        if (created[c]) {
            snprintf(name, sizeof(name), "c%d", c);
            script_print(f, name, &p->co[c]);
        }
    }
}

void event_print(FILE *f, const struct program *p, const struct event *e)
{
    char who[16], what[96] = "";
    const struct script *s = NULL;

    if (e->actor == 0) {
        snprintf(who, sizeof(who), "main");
        s = &p->main;
    } else {
        snprintf(who, sizeof(who), "c%d", e->actor - 1);
        if (e->actor > 0 && e->actor <= p->nco) {
            s = &p->co[e->actor - 1];
        }
    }
    if (s != NULL && e->pc >= 0 && e->pc < s->len) {
        op_format(what, sizeof(what), &s->ops[e->pc]);
    }
    switch (e->kind) {
    case EV_START:
        fprintf(f, "%-5s starts (opaque %s)\n", who,
                e->value == 1 ? "as passed" : e->value == 2 ? "NULL" : "WRONG");
        break;
    case EV_OP:
        fprintf(f, "%-5s %3d  %s\n", who, e->pc, what);
        break;
    case EV_RET:
        fprintf(f, "%-5s %3d  %s returns %d%s\n", who, e->pc, what, e->value,
                e->value < 0 ? " (WRONG: not the coroutine or thread it should be)" : "");
        break;
    case EV_END:
        fprintf(f, "%-5s returns from its body\n", who);
        break;
    case EV_DONE:
        fprintf(f, "%-5s ends, %d coroutine(s) not finished\n", who, e->value);
        break;
    default:
        fprintf(f, "%-5s (event %d)\n", who, e->kind);
        break;
    }
}

void trace_init(struct trace *t)
{
    t->ev = NULL;
    t->n = t->cap = 0;
}

void trace_free(struct trace *t)
{
    free(t->ev);
    trace_init(t);
}

void trace_push(struct trace *t, struct event e)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->ev = grow(t->ev, sizeof(*t->ev) * (size_t)t->cap);
    }
    t->ev[t->n++] = e;
}

bool event_equal(const struct event *x, const struct event *y)
{
    return x->actor == y->actor && x->kind == y->kind && x->pc == y->pc &&
           x->value == y->value;
}
