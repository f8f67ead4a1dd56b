/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The model: QEMU's coroutine semantics as documented in qemu-coroutine.h,
 * without threads and without stacks. It is written from the header, not
 * from the library, so that the two can disagree.
 *
 * State: each coroutine's place in its script and what it is doing
 * (created, running, waiting for a coroutine it entered, suspended in a
 * yield, in a line, woken, finished); the locks it holds; the coroutines it
 * woke and that have not run yet. Every enter, and every wake-up from an
 * application thread, opens a frame: the loop in qemu_coroutine_enter()
 * that runs the entered coroutine and then whoever it woke. Only one actor
 * runs at a time, and it is always the newest frame's coroutine (or main,
 * when no frame is open), because whoever opened a frame waits for it to
 * end: so the frames are a stack, and "who runs next" is a question about
 * its top.
 *
 * The rules, from the header:
 * - a coroutine yields to whoever entered it last: its frame's owner;
 * - a coroutine woken from inside a coroutine joins the waker's list and
 *   runs when the waker leaves (yields, waits or finishes), in the frame
 *   the waker leaves, before that frame's enter returns; what the waker's
 *   leaving brings goes in front of what the frame already had (depth
 *   first), and in the order it was woken;
 * - a wake-up from an application thread runs the woken coroutine at once
 *   (a frame of its own); restart_all from one runs the woken ones one
 *   after the other, which is the same order as one frame holding them all;
 * - CoMutex: handed to the oldest waiter, which becomes the holder before
 *   it runs; qemu_co_queue_wait(q, m) joins q, then unlocks m, and takes m
 *   again (waiting in m's line if need be) once woken;
 * - CoRwlock: granted in line order, a writer once nobody holds it,
 *   readers next to each other in line together; a waiting writer holds
 *   back later readers; upgrade gives the read lock up and queues as a
 *   writer behind the whole line; downgrade lets the readers at the front
 *   in.
 *
 * The trace: every operation gives an EV_OP event when it starts and an
 * EV_RET event when it returns to its script, with the call's value
 * (booleans as 0/1, 0 for void calls); a coroutine's body gives EV_START
 * (value 1 when it got the opaque pointer of qemu_coroutine_enter(), 2 when
 * it got NULL from qemu_coroutine_enter_if_inactive()) and EV_END; main
 * ends with EV_DONE, whose value is the number of coroutines created and
 * not finished.
 *
 * The second half of this file is the generator, which asks the model what
 * is legal for whoever runs next.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "soak.h"

enum co_state {
    CO_UNBORN, CO_CREATED, CO_RUNNING, CO_ENTERING, CO_SUSPENDED,
    CO_WAITING, CO_WOKEN, CO_FINISHED
};

/* A list of coroutines linked through their next fields: a coroutine is in
 * one line or one list of woken coroutines at a time. */
struct list {
    int head, tail;
};

struct mco {
    enum co_state st;
    int pc;
    int next;
    struct list woken;      /* woken by it, to run when it leaves */
    int relock;             /* CoMutex to take again once woken, or -1 */
    bool want_write;        /* what it waits for in a CoRwlock's line */
    unsigned mutexes;       /* bit i: holds CoMutex i */
    unsigned rd, wr;        /* bit i: holds CoRwlock i for reading, writing */
};

struct frame {
    int owner;              /* actor that resumes when the frame ends */
    int helper;             /* helper thread that runs the frame, or -1 */
    int cur;                /* coroutine running in it, or -1 */
    struct list pending;    /* woken, to run in it */
    int32_t value;          /* what the owner's call returns */
};

struct model {
    struct program *p;
    enum soak_break brk;
    int max_depth;
    struct gen_state *gen;
    struct trace *t;
    struct model_stats *stats;
    const char *error;
    bool repairable;        /* error is the program's, found before any change */
    bool done;
    struct mco co[SOAK_MAX_CO];
    int main_pc;
    struct frame frames[SOAK_MAX_DEPTH];
    int nframes;
    struct list queue[SOAK_QUEUES];
    int mholder[SOAK_MUTEXES];
    struct list mline[SOAK_MUTEXES];
    int writer[SOAK_RWLOCKS], readers[SOAK_RWLOCKS];
    struct list rwline[SOAK_RWLOCKS];
    bool helper_busy[SOAK_HELPERS];
    int created, finished;
};

static void list_init(struct list *l)
{
    l->head = l->tail = -1;
}

static void list_push(struct model *m, struct list *l, int c)
{
    m->co[c].next = -1;
    if (l->tail >= 0) {
        m->co[l->tail].next = c;
    } else {
        l->head = c;
    }
    l->tail = c;
}

static void list_push_front(struct model *m, struct list *l, int c)
{
    m->co[c].next = l->head;
    l->head = c;
    if (l->tail < 0) {
        l->tail = c;
    }
}

static int list_pop(struct model *m, struct list *l)
{
    int c = l->head;

    if (c >= 0) {
        l->head = m->co[c].next;
        if (l->head < 0) {
            l->tail = -1;
        }
    }
    return c;
}

/* For BREAK_MUTEX_FIFO only. */
static int list_pop_back(struct model *m, struct list *l)
{
    int c = l->tail;

    if (c == l->head) {
        return list_pop(m, l);
    }
    for (int i = l->head; i >= 0; i = m->co[i].next) {
        if (m->co[i].next == c) {
            m->co[i].next = -1;
            l->tail = i;
            break;
        }
    }
    return c;
}

/* Puts the list from in front of to (from is left empty). */
static void list_prepend(struct model *m, struct list *to, struct list *from)
{
    if (from->head < 0) {
        return;
    }
    m->co[from->tail].next = to->head;
    if (to->tail < 0) {
        to->tail = from->tail;
    }
    to->head = from->head;
    list_init(from);
}

static void list_append(struct model *m, struct list *to, struct list *from)
{
    if (from->head < 0) {
        return;
    }
    if (to->tail >= 0) {
        m->co[to->tail].next = from->head;
    } else {
        to->head = from->head;
    }
    to->tail = from->tail;
    list_init(from);
}

static int *pc_of(struct model *m, int actor)
{
    return actor == 0 ? &m->main_pc : &m->co[actor - 1].pc;
}

static struct script *script_of(struct model *m, int actor)
{
    return actor == 0 ? &m->p->main : &m->p->co[actor - 1];
}

static int running(const struct model *m)
{
    return m->nframes == 0 ? 0 : m->frames[m->nframes - 1].cur + 1;
}

static void emit(struct model *m, int actor, int kind, int32_t value)
{
    struct event e = { .actor = (int16_t)actor, .kind = (int16_t)kind,
                       .pc = *pc_of(m, actor), .value = value };
    trace_push(m->t, e);
}

/* The actor's current operation returns value. */
static void ret(struct model *m, int actor, int32_t value)
{
    emit(m, actor, EV_RET, value);
    (*pc_of(m, actor))++;
}

/* The operation about to run is not legal here; nothing has changed yet
 * but its EV_OP event. */
static void illegal(struct model *m, const char *why)
{
    if (m->error == NULL) {
        m->error = why;
        m->repairable = true;
    }
}

static void model_bug(struct model *m, const char *why)
{
    m->error = why;
    m->repairable = false;
}

/* Coroutine c is woken by coroutine waker: it runs when the waker leaves. */
static void wake(struct model *m, int waker, int c)
{
    m->co[c].st = CO_WOKEN;
    if (m->brk == BREAK_WAKE_ORDER) {
        list_push_front(m, &m->co[waker].woken, c);
    } else {
        list_push(m, &m->co[waker].woken, c);
    }
}

static void push_frame(struct model *m, int owner, int helper, int32_t value)
{
    struct frame *f = &m->frames[m->nframes++];

    f->owner = owner;
    f->helper = helper;
    f->cur = -1;
    list_init(&f->pending);
    f->value = value;
    if (owner > 0) {
        m->co[owner - 1].st = CO_ENTERING;
    }
    if (helper >= 0) {
        m->helper_busy[helper] = true;
    }
    if (m->nframes > m->stats->max_depth) {
        m->stats->max_depth = m->nframes;
    }
}

/* Runs the top frame's next coroutine, or ends the frame: the next woken
 * one retakes its mutex first, and may have to wait for it again. */
static void run_pending(struct model *m)
{
    for (;;) {
        struct frame *f = &m->frames[m->nframes - 1];
        int c = list_pop(m, &f->pending);

        if (c < 0) {
            int owner = f->owner;
            if (f->helper >= 0) {
                m->helper_busy[f->helper] = false;
            }
            m->nframes--;
            if (owner > 0) {
                m->co[owner - 1].st = CO_RUNNING;
            }
            ret(m, owner, f->value);
            return;
        }
        struct mco *x = &m->co[c];
        f->cur = c;
        x->st = CO_RUNNING;
        m->stats->switches++;
        if (x->relock >= 0) {
            int mu = x->relock;
            x->relock = -1;
            if (m->mholder[mu] >= 0) {
                list_push(m, &m->mline[mu], c);
                x->st = CO_WAITING;
                m->stats->lock_waits++;
                f->cur = -1;
                continue;       /* it woke nobody: nothing to prepend */
            }
            m->mholder[mu] = c;
            x->mutexes |= 1u << mu;
        }
        ret(m, c + 1, 0);
        return;
    }
}

/* Coroutine c yields, waits or finishes: back to its frame, with whoever
 * it woke. */
static void leave(struct model *m, int c)
{
    struct frame *f = &m->frames[m->nframes - 1];

    if (f->cur != c) {
        model_bug(m, "model: the coroutine leaving is not the running one");
        return;
    }
    f->cur = -1;
    if (m->brk == BREAK_DEPTH_FIRST) {
        list_append(m, &f->pending, &m->co[c].woken);
    } else {
        list_prepend(m, &f->pending, &m->co[c].woken);
    }
    run_pending(m);
}

/* Coroutine c runs in the top frame: its first run or back from a yield. */
static void start(struct model *m, int c, int32_t opaque_code)
{
    struct mco *x = &m->co[c];

    m->frames[m->nframes - 1].cur = c;
    m->stats->switches++;
    if (x->st == CO_CREATED) {
        x->st = CO_RUNNING;
        x->pc = 0;
        emit(m, c + 1, EV_START, opaque_code);
    } else {
        x->st = CO_RUNNING;
        ret(m, c + 1, 0);
    }
}

static void mutex_unlock(struct model *m, int c, int mu)
{
    int next;

    m->co[c].mutexes &= ~(1u << mu);
    next = m->brk == BREAK_MUTEX_FIFO ? list_pop_back(m, &m->mline[mu])
                                      : list_pop(m, &m->mline[mu]);
    m->mholder[mu] = next;
    if (next >= 0) {
        m->co[next].mutexes |= 1u << mu;
        wake(m, c, next);
    }
}

/* Hands lock l to the front of its line as far as it goes; c wakes them. */
static void rw_grant(struct model *m, int c, int l)
{
    struct list *line = &m->rwline[l];

    while (line->head >= 0 && m->writer[l] < 0) {
        int h = line->head;
        if (m->co[h].want_write) {
            if (m->readers[l] == 0) {
                if (h == c) {   /* upgrade takes it at once, not through here */
                    model_bug(m, "model: a coroutine granted itself a CoRwlock");
                    return;
                }
                list_pop(m, line);
                m->writer[l] = h;
                m->co[h].wr |= 1u << l;
                wake(m, c, h);
            }
            return;
        }
        list_pop(m, line);
        m->readers[l]++;
        m->co[h].rd |= 1u << l;
        wake(m, c, h);
    }
}

/* Coroutine c waits in a line (already in it): back to its frame. */
static void wait_in_line(struct model *m, int c)
{
    m->co[c].st = CO_WAITING;
    m->stats->lock_waits++;
    leave(m, c);
}

/* Which operations an application thread may do for a script's owner. */
static bool via_allowed(int kind)
{
    switch (kind) {
    case OP_CREATE: case OP_ENTER: case OP_ENTER_IF_INACTIVE: case OP_ENTERED:
    case OP_NEXT: case OP_ENTER_NEXT: case OP_RESTART_ALL: case OP_EMPTY:
        return true;
    default:
        return false;
    }
}

/* A handle that may be used: created and not finished. */
static struct mco *live(struct model *m, int a)
{
    if (a >= m->p->nco || m->co[a].st == CO_UNBORN) {
        illegal(m, "uses a coroutine not created yet");
        return NULL;
    }
    if (m->co[a].st == CO_FINISHED) {
        illegal(m, "uses a coroutine that has finished");
        return NULL;
    }
    return &m->co[a];
}

static void apply(struct model *m, int actor, const struct op *op)
{
    int k = actor - 1;
    struct mco *self = k >= 0 ? &m->co[k] : NULL;
    int h = op->via - 1;
    bool leader = self == NULL || op->via != 0;     /* an application thread calls */
    struct mco *x;

    emit(m, actor, EV_OP, 0);
    if (op->via > SOAK_HELPERS || (op->via && !via_allowed(op->kind))) {
        illegal(m, "an operation a helper thread cannot do");
        return;
    }
    if (op->via && m->helper_busy[h]) {
        illegal(m, "a helper thread that is busy");
        return;
    }
    switch (op->kind) {
    case OP_ENTER: case OP_ENTER_IF_INACTIVE: case OP_ENTERED: case OP_CREATE:
        break;
    case OP_NEXT: case OP_ENTER_NEXT: case OP_RESTART_ALL: case OP_EMPTY:
        if (op->a >= SOAK_QUEUES) {
            illegal(m, "no such CoQueue");
            return;
        }
        break;
    default:
        if (leader) {
            illegal(m, "a coroutine-only call outside a coroutine");
            return;
        }
        break;
    }

    switch (op->kind) {
    case OP_CREATE:
        if (op->a >= m->p->nco || m->co[op->a].st != CO_UNBORN) {
            illegal(m, "creates a coroutine twice");
            return;
        }
        m->co[op->a].st = CO_CREATED;
        m->created++;
        ret(m, actor, 0);
        return;
    case OP_ENTER:
    case OP_ENTER_IF_INACTIVE:
        if ((x = live(m, op->a)) == NULL) {
            return;
        }
        if (op->kind == OP_ENTER_IF_INACTIVE &&
            (x->st == CO_RUNNING || x->st == CO_ENTERING)) {
            ret(m, actor, 0);
            return;
        }
        if (x->st != CO_CREATED && x->st != CO_SUSPENDED) {
            illegal(m, "enters a coroutine that runs or waits in a line");
            return;
        }
        if (m->nframes >= m->max_depth) {
            illegal(m, "nests deeper than allowed");
            return;
        }
        push_frame(m, actor, h, 0);
        start(m, op->a, op->kind == OP_ENTER ? 1 : 2);
        return;
    case OP_ENTERED:
        if ((x = live(m, op->a)) == NULL) {
            return;
        }
        ret(m, actor, x->st == CO_RUNNING || x->st == CO_ENTERING);
        return;
    case OP_YIELD:
        self->st = CO_SUSPENDED;
        leave(m, k);
        return;
    case OP_NEXT:
    case OP_ENTER_NEXT:
    case OP_RESTART_ALL: {
        struct list *q = &m->queue[op->a];
        if (!leader) {
            int c, n = 0;
            while ((op->kind == OP_RESTART_ALL || n == 0) && (c = list_pop(m, q)) >= 0) {
                wake(m, k, c);
                n++;
            }
            ret(m, actor, op->kind == OP_RESTART_ALL ? 0 : n > 0);
            return;
        }
        if (q->head < 0) {
            ret(m, actor, 0);
            return;
        }
        if (m->nframes >= m->max_depth) {
            illegal(m, "nests deeper than allowed");
            return;
        }
        push_frame(m, actor, h, op->kind == OP_RESTART_ALL ? 0 : 1);
        struct frame *f = &m->frames[m->nframes - 1];
        if (op->kind == OP_RESTART_ALL) {
            list_append(m, &f->pending, q);
        } else {
            list_push(m, &f->pending, list_pop(m, q));
        }
        for (int c = f->pending.head; c >= 0; c = m->co[c].next) {
            m->co[c].st = CO_WOKEN;
        }
        run_pending(m);
        return;
    }
    case OP_EMPTY:
        ret(m, actor, m->queue[op->a].head < 0);
        return;
    case OP_WAIT:
    case OP_WAIT_MUTEX:
        if (op->a >= SOAK_QUEUES || (op->kind == OP_WAIT_MUTEX && op->b >= SOAK_MUTEXES)) {
            illegal(m, "no such CoQueue or CoMutex");
            return;
        }
        if (op->kind == OP_WAIT_MUTEX && m->mholder[op->b] != k) {
            illegal(m, "waits with a CoMutex it does not hold");
            return;
        }
        list_push(m, &m->queue[op->a], k);
        if (op->kind == OP_WAIT_MUTEX) {
            self->relock = op->b;
            mutex_unlock(m, k, op->b);
        }
        wait_in_line(m, k);
        return;
    case OP_LOCK:
        if (op->a >= SOAK_MUTEXES || m->mholder[op->a] == k) {
            illegal(m, "locks a CoMutex it holds");
            return;
        }
        if (m->mholder[op->a] < 0) {
            m->mholder[op->a] = k;
            self->mutexes |= 1u << op->a;
            ret(m, actor, 0);
            return;
        }
        list_push(m, &m->mline[op->a], k);
        wait_in_line(m, k);
        return;
    case OP_UNLOCK:
        if (op->a >= SOAK_MUTEXES || m->mholder[op->a] != k) {
            illegal(m, "unlocks a CoMutex it does not hold");
            return;
        }
        mutex_unlock(m, k, op->a);
        ret(m, actor, 0);
        return;
    case OP_RDLOCK:
    case OP_WRLOCK: {
        int l = op->a;
        bool write = op->kind == OP_WRLOCK;
        if (l >= SOAK_RWLOCKS || ((self->rd | self->wr) & (1u << l))) {
            illegal(m, "locks a CoRwlock it holds");
            return;
        }
        if (m->writer[l] < 0 && m->rwline[l].head < 0 && (!write || m->readers[l] == 0)) {
            if (write) {
                m->writer[l] = k;
                self->wr |= 1u << l;
            } else {
                m->readers[l]++;
                self->rd |= 1u << l;
            }
            ret(m, actor, 0);
            return;
        }
        self->want_write = write;
        list_push(m, &m->rwline[l], k);
        wait_in_line(m, k);
        return;
    }
    case OP_RWUNLOCK: {
        int l = op->a;
        if (l < SOAK_RWLOCKS && (self->wr & (1u << l))) {
            m->writer[l] = -1;
            self->wr &= ~(1u << l);
        } else if (l < SOAK_RWLOCKS && (self->rd & (1u << l))) {
            m->readers[l]--;
            self->rd &= ~(1u << l);
        } else {
            illegal(m, "unlocks a CoRwlock it does not hold");
            return;
        }
        rw_grant(m, k, l);
        ret(m, actor, 0);
        return;
    }
    case OP_UPGRADE: {
        int l = op->a;
        if (l >= SOAK_RWLOCKS || !(self->rd & (1u << l))) {
            illegal(m, "upgrades a CoRwlock it does not hold for reading");
            return;
        }
        self->rd &= ~(1u << l);
        m->readers[l]--;
        if (m->readers[l] == 0 && m->rwline[l].head < 0) {
            m->writer[l] = k;
            self->wr |= 1u << l;
            ret(m, actor, 0);
            return;
        }
        self->want_write = true;
        list_push(m, &m->rwline[l], k);
        rw_grant(m, k, l);
        wait_in_line(m, k);
        return;
    }
    case OP_DOWNGRADE: {
        int l = op->a;
        if (l >= SOAK_RWLOCKS || !(self->wr & (1u << l))) {
            illegal(m, "downgrades a CoRwlock it does not hold for writing");
            return;
        }
        self->wr &= ~(1u << l);
        self->rd |= 1u << l;
        m->writer[l] = -1;
        m->readers[l]++;
        rw_grant(m, k, l);
        ret(m, actor, 0);
        return;
    }
    default:
        illegal(m, "no such operation");
        return;
    }
}

/* Coroutine c's script ended: its body returns. */
static void finish(struct model *m, int c)
{
    struct mco *x = &m->co[c];

    if (x->mutexes | x->rd | x->wr) {
        model_bug(m, "a coroutine finishes holding a lock");
        return;
    }
    emit(m, c + 1, EV_END, 0);
    x->st = CO_FINISHED;
    m->finished++;
    leave(m, c);
}

static void gen_extend(struct model *m, int actor);

const char *model_run(struct program *p, enum soak_break brk, int max_depth,
                      struct gen_state *gen, struct trace *t, struct model_stats *stats)
{
    static struct model model;      /* large: not on the stack */
    struct model *m = &model;
    struct model_stats unused;

    memset(m, 0, sizeof(*m));
    m->p = p;
    m->brk = brk;
    m->max_depth = max_depth > SOAK_MAX_DEPTH ? SOAK_MAX_DEPTH : max_depth;
    m->gen = gen;
    m->t = t;
    m->stats = stats != NULL ? stats : &unused;
    memset(m->stats, 0, sizeof(*m->stats));
    t->n = 0;
    for (int i = 0; i < SOAK_MAX_CO; i++) {
        m->co[i].relock = -1;
        m->co[i].next = -1;
        list_init(&m->co[i].woken);
    }
    for (int i = 0; i < SOAK_QUEUES; i++) {
        list_init(&m->queue[i]);
    }
    for (int i = 0; i < SOAK_MUTEXES; i++) {
        m->mholder[i] = -1;
        list_init(&m->mline[i]);
    }
    for (int i = 0; i < SOAK_RWLOCKS; i++) {
        m->writer[i] = -1;
        list_init(&m->rwline[i]);
    }

    while (!m->done && m->error == NULL) {
        int actor = running(m);
        struct script *s = script_of(m, actor);
        int pc = *pc_of(m, actor);

        if (pc == s->len && !s->closed && gen != NULL) {
            gen_extend(m, actor);
            continue;
        }
        if (pc < s->len) {
            int n = t->n;
            apply(m, actor, &s->ops[pc]);
            if (m->error != NULL && m->repairable && gen != NULL && gen->repair) {
                t->n = n;
                m->error = NULL;
                memmove(&s->ops[pc], &s->ops[pc + 1], sizeof(*s->ops) * (size_t)(s->len - pc - 1));
                s->len--;
            }
        } else if (actor > 0) {
            finish(m, actor - 1);
        } else {
            emit(m, 0, EV_DONE, m->created - m->finished);
            if (m->created != m->finished) {
                model_bug(m, "coroutines created and never finished");
            }
            m->done = true;
        }
    }
    return m->error;
}

/*
 * The generator. It writes a script's next operation when the model needs
 * it, choosing among what is legal for the actor that runs, so a program is
 * legal by construction; p->nco grows as it creates coroutines.
 *
 * Every program ends, with every coroutine finished: the locks are taken
 * in one global order (CoMutexes, then CoRwlocks, by number), and only the
 * highest one held is waited for again (qemu_co_queue_wait with a mutex,
 * upgrade), so lines of lock waiters cannot go round in a circle. Once the
 * budget of operations is spent, coroutines release their locks and return,
 * and main wakes every queue and enters every suspended or new coroutine
 * until all have finished: each of those either finishes or waits for a
 * lock whose holder main can reach.
 */

struct choice {
    struct op op;
    int weight;
};

#define MAX_CHOICES 256
#define OP_RETURN 255           /* not an operation: the script ends */

struct choices {
    struct choice c[MAX_CHOICES];
    int n, total;
};

static void offer(struct choices *cs, int weight, int kind, int a, int b)
{
    if (weight > 0 && cs->n < MAX_CHOICES) {
        cs->c[cs->n++] = (struct choice){ { (uint8_t)kind, 0, (uint16_t)a, (uint16_t)b },
                                          weight };
        cs->total += weight;
    }
}

static int rnd(struct gen_state *g, int n)
{
    return (int)(soak_rand(&g->rng) % (uint64_t)n);
}

/* 1 + a free helper thread, with probability 1/one_in, or 0. Not at the
 * deepest level: what a helper runs opens a frame of its own. */
static int pick_via(struct model *m, struct gen_state *g, int one_in)
{
    int h = rnd(g, SOAK_HELPERS);

    if (g->repair || rnd(g, one_in) != 0 || m->helper_busy[h] ||
        m->nframes >= m->max_depth) {
        return 0;
    }
    return h + 1;
}

/* Lock order index: CoMutexes first, then CoRwlocks. */
static int highest_held(const struct mco *x)
{
    int top = -1;

    for (int i = 0; i < SOAK_MUTEXES; i++) {
        if (x->mutexes & (1u << i)) {
            top = i;
        }
    }
    for (int i = 0; i < SOAK_RWLOCKS; i++) {
        if ((x->rd | x->wr) & (1u << i)) {
            top = SOAK_MUTEXES + i;
        }
    }
    return top;
}

/* A random coroutine in one of the states (a bit set of enum co_state);
 * fresh ones (never entered) first when prefer_new. */
static int pick_co(struct model *m, struct gen_state *g, unsigned states, bool prefer_new)
{
    int list[SOAK_MAX_CO], n = 0;

    for (int i = 0; i < m->p->nco; i++) {
        if (states & (1u << m->co[i].st)) {
            list[n++] = i;
        }
    }
    if (n == 0) {
        return -1;
    }
    if (prefer_new) {
        for (int i = n - 1; i >= 0; i--) {
            if (m->co[list[i]].st == CO_CREATED) {
                return list[i];
            }
        }
    }
    return list[rnd(g, n)];
}

#define ST(s) (1u << (s))
#define ENTERABLE (ST(CO_CREATED) | ST(CO_SUSPENDED))
#define LIVE (ENTERABLE | ST(CO_RUNNING) | ST(CO_ENTERING) | ST(CO_WAITING) | ST(CO_WOKEN))

/* Main's choices while winding down; false when all is done. */
static bool main_wind_down(struct model *m, struct gen_state *g, struct op *op)
{
    for (int q = 0; q < SOAK_QUEUES; q++) {
        if (m->queue[q].head >= 0) {
            *op = (struct op){ OP_RESTART_ALL, (uint8_t)pick_via(m, g, 3), (uint16_t)q, 0 };
            return true;
        }
    }
    int c = pick_co(m, g, ENTERABLE, false);
    if (c >= 0) {
        *op = (struct op){ (uint8_t)(rnd(g, 4) == 0 ? OP_ENTER_IF_INACTIVE : OP_ENTER),
                           (uint8_t)pick_via(m, g, 3), (uint16_t)c, 0 };
        return true;
    }
    return false;
}

/* A coroutine's choices while winding down: release, then return. */
static bool co_wind_down(struct model *m, int k, struct op *op)
{
    int top = highest_held(&m->co[k]);

    if (top < 0) {
        return false;
    }
    if (top < SOAK_MUTEXES) {
        *op = (struct op){ OP_UNLOCK, 0, (uint16_t)top, 0 };
    } else {
        *op = (struct op){ OP_RWUNLOCK, 0, (uint16_t)(top - SOAK_MUTEXES), 0 };
    }
    return true;
}

/* Wake-ups, mostly where somebody waits (on an empty queue they only
 * check that nothing happens). */
static void offer_queue_ops(struct model *m, struct choices *cs, int scale)
{
    for (int q = 0; q < SOAK_QUEUES; q++) {
        if (m->queue[q].head >= 0) {
            offer(cs, 4 * scale, OP_NEXT, q, 0);
            offer(cs, 1 * scale, OP_ENTER_NEXT, q, 0);
            offer(cs, 2 * scale, OP_RESTART_ALL, q, 0);
        } else if (scale > 0) {
            offer(cs, 1, q == 0 ? OP_NEXT : q == 1 ? OP_RESTART_ALL : OP_ENTER_NEXT, q, 0);
        }
        offer(cs, scale > 0 ? 1 : 0, OP_EMPTY, q, 0);
    }
}

static void co_choices(struct model *m, struct gen_state *g, int k, struct choices *cs)
{
    const struct soak_params *sp = g->sp;
    struct mco *x = &m->co[k];
    int top = highest_held(x);
    bool deep = g->deep && m->nframes < m->max_depth;
    int nest = g->style[0], queue = g->style[1], mutex = g->style[2], rw = g->style[3];
    int c;

    /* A deep program creates a coroutine and enters it, each one going a
     * level further down, until it is as deep as allowed. */
    if (deep) {
        if ((c = pick_co(m, g, ST(CO_CREATED), false)) >= 0) {
            offer(cs, 1, OP_ENTER, c, 0);
            return;
        }
        if (m->p->nco < sp->max_coroutines && m->p->nco < SOAK_MAX_CO) {
            offer(cs, 1, OP_CREATE, m->p->nco, 0);
            return;
        }
    }
    if (m->p->nco < sp->max_coroutines && m->p->nco < SOAK_MAX_CO) {
        offer(cs, 6 * nest, OP_CREATE, m->p->nco, 0);
    }
    if (m->nframes < m->max_depth && (c = pick_co(m, g, ENTERABLE, deep)) >= 0) {
        offer(cs, 14 * nest, OP_ENTER, c, 0);
        offer(cs, 2, OP_ENTER_IF_INACTIVE, c, 0);
    }
    if ((c = pick_co(m, g, ST(CO_RUNNING) | ST(CO_ENTERING), false)) >= 0) {
        offer(cs, 2, OP_ENTER_IF_INACTIVE, c, 0);     /* a no-op */
    }
    if ((c = pick_co(m, g, LIVE, false)) >= 0) {
        offer(cs, 2, OP_ENTERED, c, 0);
    }
    offer(cs, 12, OP_YIELD, 0, 0);
    if (top < 0) {
        offer(cs, 5, OP_RETURN, 0, 0);
    }
    offer_queue_ops(m, cs, queue);
    for (int q = 0; q < SOAK_QUEUES; q++) {
        offer(cs, 2 * queue, OP_WAIT, q, 0);
        if (top >= 0 && top < SOAK_MUTEXES) {
            offer(cs, 3 * queue, OP_WAIT_MUTEX, q, top);
        }
    }
    for (int i = 0; i < SOAK_MUTEXES; i++) {
        if (x->mutexes & (1u << i)) {
            offer(cs, 8, OP_UNLOCK, i, 0);
        } else if (i > top) {
            offer(cs, 5 * mutex, OP_LOCK, i, 0);
        }
    }
    for (int i = 0; i < SOAK_RWLOCKS; i++) {
        unsigned bit = 1u << i;
        if (x->rd & bit) {
            offer(cs, 6, OP_RWUNLOCK, i, 0);
            if (top == SOAK_MUTEXES + i) {
                offer(cs, 1 + 2 * rw, OP_UPGRADE, i, 0);
            }
        } else if (x->wr & bit) {
            offer(cs, 6, OP_RWUNLOCK, i, 0);
            /* Only when no later lock is held: under a later CoRwlock held
             * for reading (and the locks before it), helgrind still takes
             * the downgrade for a new acquisition and reports a lock order
             * the program never inverted (README, Debugging). Later
             * CoMutexes and write locks no longer show it
             * (tests/races/ok-corwlock-downgrade), but the same programs
             * run under every tool, and recorded seeds (test-soak's
             * regressions) must still make the same programs. */
            if (top == SOAK_MUTEXES + i) {
                offer(cs, 1 + 2 * rw, OP_DOWNGRADE, i, 0);
            }
        } else if (SOAK_MUTEXES + i > top) {
            offer(cs, 3 * rw, OP_RDLOCK, i, 0);
            offer(cs, 3 * rw, OP_WRLOCK, i, 0);
        }
    }
}

static void main_choices(struct model *m, struct gen_state *g, struct choices *cs)
{
    const struct soak_params *sp = g->sp;
    int c;

    if (m->p->nco < sp->max_coroutines && m->p->nco < SOAK_MAX_CO) {
        offer(cs, 8, OP_CREATE, m->p->nco, 0);
    }
    if ((c = pick_co(m, g, ENTERABLE, g->deep)) >= 0) {
        offer(cs, 16, OP_ENTER, c, 0);
        offer(cs, 2, OP_ENTER_IF_INACTIVE, c, 0);
    }
    if ((c = pick_co(m, g, LIVE, false)) >= 0) {
        offer(cs, 1, OP_ENTERED, c, 0);
    }
    offer_queue_ops(m, cs, 1 + g->style[1]);
}

static void gen_extend(struct model *m, int actor)
{
    struct gen_state *g = m->gen;
    struct script *s = script_of(m, actor);
    struct choices cs = { .n = 0, .total = 0 };
    struct op op;

    if (g->budget <= 0) {
        bool more = actor == 0 ? main_wind_down(m, g, &op) : co_wind_down(m, actor - 1, &op);
        if (!more) {
            if (actor == 0 && m->created != m->finished) {
                model_bug(m, "generator: stuck winding down");
            }
            s->closed = true;
            return;
        }
    } else {
        int r;
        g->budget--;
        if (actor == 0) {
            main_choices(m, g, &cs);
        } else {
            co_choices(m, g, actor - 1, &cs);
        }
        r = rnd(g, cs.total);
        for (int i = 0;; i++) {
            r -= cs.c[i].weight;
            if (r < 0) {
                op = cs.c[i].op;
                break;
            }
        }
        if (op.kind == OP_RETURN) {
            s->closed = true;           /* the coroutine returns */
            return;
        }
        if (via_allowed(op.kind)) {
            op.via = (uint8_t)pick_via(m, g, actor == 0 ? 4 : 8);
        }
    }
    if (op.kind == OP_CREATE) {
        m->p->nco++;
    }
    script_push(s, op);
}

bool program_generate(struct program *p, uint64_t seed, const struct soak_params *sp,
                      struct trace *t, struct model_stats *stats)
{
    struct gen_state g = { .sp = sp, .rng = seed };
    const char *why;
    struct trace check;

    program_init(p);
    p->seed = seed;
    /* Drawn either way, so that the programs of a seed are the same with
     * and without the analysis tools. */
    static const int pools[] = { -1, -1, 0, 1, 4 };
    p->pool = pools[rnd(&g, 5)];
    if (!sp->vary_pool) {
        p->pool = -1;
    }
    g.deep = sp->deep_one_in > 0 && rnd(&g, sp->deep_one_in) == 0;
    /* A style per program: some nest a lot, some mostly wait on queues,
     * some fight over one kind of lock. */
    static const int nest[] = { 1, 1, 2, 3 }, other[] = { 0, 1, 1, 2, 4, 6 };
    g.style[0] = nest[rnd(&g, 4)];
    for (int i = 1; i < 4; i++) {
        g.style[i] = other[rnd(&g, 6)];
    }
    g.budget = 1 + rnd(&g, sp->max_ops);
    if (g.deep) {
        g.budget += 3 * sp->max_depth;
    }
    why = model_run(p, sp->brk, sp->max_depth, &g, t, stats);
    if (why != NULL) {
        fprintf(stderr, "soak: generator bug: %s, in this program:\n", why);
        program_print(stderr, p);
        return false;
    }
    /* The model must replay what it generated, to the event. */
    trace_init(&check);
    why = model_run(p, sp->brk, sp->max_depth, NULL, &check, NULL);
    if (why != NULL || check.n != t->n ||
        memcmp(check.ev, t->ev, sizeof(*t->ev) * (size_t)t->n) != 0) {
        fprintf(stderr, "soak: the model does not replay its own program (%s)\n",
                why ? why : "another trace");
        trace_free(&check);
        return false;
    }
    trace_free(&check);
    return true;
}
