/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The differential soak: random programs of coroutine operations, run on
 * cothread and on a model of QEMU's semantics, whose traces must agree
 * event by event.
 *
 * A program is one script for the application thread ("main") and one per
 * coroutine. Each script is a list of operations run in order by whoever
 * owns it; a coroutine's body returns when its script ends. Which script
 * runs next is what the semantics decide, so the order in which the
 * operations run (the trace) is what is compared.
 *
 * model.c interprets a program without threads: it knows, for every
 * coroutine, where it is in its script, who entered it, what it holds and
 * what it waits for, and it says who runs next. gen.c writes programs by
 * asking the model, at each step, what is legal for whoever runs. run.c
 * runs a program on cothread, in a child process, recording the trace.
 * shrink.c deletes operations and coroutines while the two traces still
 * disagree. No file but run.c calls cothread.
 */
#ifndef COTHREAD_SOAK_H
#define COTHREAD_SOAK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define SOAK_MAX_CO 256         /* coroutines in one program */
#define SOAK_QUEUES 3
#define SOAK_MUTEXES 3
#define SOAK_RWLOCKS 2
#define SOAK_HELPERS 2          /* application threads that resume for others */
#define SOAK_MAX_DEPTH 128      /* the nesting QEMU code may rely on */

enum op_kind {
    OP_CREATE,          /* a: coroutine */
    OP_ENTER,           /* a: coroutine */
    OP_ENTER_IF_INACTIVE,
    OP_ENTERED,         /* qemu_coroutine_entered(a): the value is traced */
    OP_YIELD,
    OP_LOCK,            /* a: CoMutex */
    OP_UNLOCK,
    OP_WAIT,            /* a: CoQueue */
    OP_WAIT_MUTEX,      /* a: CoQueue, b: CoMutex */
    OP_NEXT,            /* a: CoQueue; the value is traced */
    OP_ENTER_NEXT,
    OP_RESTART_ALL,
    OP_EMPTY,
    OP_RDLOCK,          /* a: CoRwlock */
    OP_WRLOCK,
    OP_RWUNLOCK,
    OP_UPGRADE,
    OP_DOWNGRADE,
    OP_KINDS
};

struct op {
    uint8_t kind;
    uint8_t via;        /* 0: the script's owner itself; h + 1: helper thread h */
    uint16_t a, b;
};

struct script {
    struct op *ops;
    int len, cap;
    bool closed;        /* complete: a coroutine returns, main ends, at len */
};

struct program {
    uint64_t seed;
    int pool;           /* cothread_set_pool_size() value, -1: the default */
    int nco;            /* coroutine ids 0..nco-1 */
    struct script main;
    struct script co[SOAK_MAX_CO];
};

/* Actor 0 is main, actor k + 1 coroutine k. */
enum ev_kind { EV_START, EV_OP, EV_RET, EV_END, EV_DONE };

struct event {
    int16_t actor;
    int16_t kind;
    int32_t pc;
    int32_t value;      /* what the call returned; see model.c */
};

struct trace {
    struct event *ev;
    int n, cap;
};

/* Deliberate model bugs, to show that the comparison finds them. */
enum soak_break {
    BREAK_NONE,
    BREAK_WAKE_ORDER,   /* a coroutine's wake-ups run newest first */
    BREAK_DEPTH_FIRST,  /* wake-ups of a woken coroutine run after earlier ones */
    BREAK_MUTEX_FIFO,   /* a CoMutex goes to the newest waiter */
};

struct soak_params {
    int max_ops;            /* operations generated per program, at most */
    int max_coroutines;
    int max_depth;
    bool vary_pool;         /* pick a pool size per program */
    enum soak_break brk;
    double timeout;         /* seconds for one run on cothread */
    int shrink_runs;        /* runs on cothread the shrinker may spend */
    int deep_one_in;        /* 1 in this many programs nest deep (0: never) */
    const char *flags;      /* soak's options that shape programs, for replays */
};

/* program.c */
void program_init(struct program *p);
void program_free(struct program *p);
void program_copy(struct program *dst, const struct program *src);
void script_push(struct script *s, struct op op);
int program_ops(const struct program *p);
int program_coroutines(const struct program *p);   /* those created */
void program_print(FILE *f, const struct program *p);
void op_format(char *buf, size_t len, const struct op *op);
void event_print(FILE *f, const struct program *p, const struct event *e);
void trace_init(struct trace *t);
void trace_free(struct trace *t);
void trace_push(struct trace *t, struct event e);
bool event_equal(const struct event *x, const struct event *y);
/* A deterministic generator (splitmix64). */
uint64_t soak_rand(uint64_t *state);
uint64_t soak_mix(uint64_t seed, uint64_t n);

/* model.c */
struct model_stats {
    int max_depth;          /* deepest chain of enters */
    int switches;           /* coroutine starts and resumptions */
    int lock_waits;         /* waits in a lock's or a queue's line */
};
/* The generator's state while it writes a program (model.c). */
struct gen_state {
    const struct soak_params *sp;
    uint64_t rng;
    int budget;             /* operations left before winding down */
    bool deep;              /* this program nests as deep as allowed */
    int style[4];           /* weights of nesting, CoQueue, CoMutex, CoRwlock */
    /* Repair (for the shrinker): an operation that is not legal where it
     * runs is deleted, and scripts that end too early get the winding-down
     * operations that finish the program, without helper threads. */
    bool repair;
};
/*
 * Runs p on the model and writes its trace. With gen != NULL, scripts that
 * are not closed are extended by the generator as they run out (and then
 * closed). Returns NULL if the program is legal and every coroutine it
 * created finished, else why not. max_depth: the deepest chain allowed.
 */
const char *model_run(struct program *p, enum soak_break brk, int max_depth,
                      struct gen_state *gen, struct trace *t, struct model_stats *stats);

/* A new program from seed, with the model's trace of it (model.c); false,
 * after printing why, if the generator wrote an illegal program. */
bool program_generate(struct program *p, uint64_t seed, const struct soak_params *sp,
                      struct trace *t, struct model_stats *stats);

/* run.c */
enum outcome_kind { OUT_OK, OUT_DIVERGED, OUT_LOST, OUT_CRASHED, OUT_HUNG, OUT_TOOL };
struct outcome {
    enum outcome_kind kind;
    int status;             /* the child's, as from waitpid() */
    int at;                 /* first event that differs */
    struct trace got;       /* cothread's trace, up to the difference */
    char output[8192];      /* what the child printed on stderr */
};
/* Whether runs happen in child processes (not on WebAssembly). */
bool soak_can_fork(void);
/* Whether valgrind or ThreadSanitizer watch (the pool is off then). */
bool soak_under_tool(void);
/* Runs p on cothread against the expected trace. */
void cothread_run(const struct program *p, const struct trace *expected,
                  double timeout, struct outcome *out);
void outcome_free(struct outcome *out);
void outcome_print(FILE *f, const struct program *p, const struct trace *expected,
                   const struct outcome *out);
const char *outcome_name(enum outcome_kind k);

/* shrink.c: makes p smaller while it still fails; returns the runs spent. */
int program_shrink(struct program *p, const struct soak_params *sp);
/* Prints the failure of program index of seed (p, the model's trace t and
 * cothread's outcome), then shrinks p and prints the shortest program
 * found with its own outcome. Returns the runs the shrinking spent. */
int soak_report(FILE *f, uint64_t seed, long index, struct program *p,
                const struct trace *t, const struct outcome *out,
                const struct soak_params *sp);

#endif
