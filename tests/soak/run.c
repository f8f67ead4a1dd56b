/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a program on cothread and records its trace.
 *
 * main's script runs on the process's main thread; each coroutine's body
 * runs its own script. An operation marked for a helper thread is handed to
 * one of SOAK_HELPERS application threads, and whoever handed it waits
 * until it is done: resuming a coroutine from another thread, and waking
 * from one, stay deterministic that way. Only one thread runs at a time,
 * so the trace needs no lock; every handover (cothread's switches, the
 * helpers' mutex) orders one thread's records after the last ones.
 *
 * Each event is checked against the model's trace as it is recorded. The
 * run happens in a child process, which stops at the first difference: it
 * has not done the operation yet, so it has done nothing the model did not
 * expect (such as entering a coroutine the model thinks is suspended). A
 * crash or a hang of the child is a failure too, with its stderr kept.
 * Nothing here calls cmocka: coroutine bodies run on other threads.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifndef __EMSCRIPTEN__
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#endif

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "qemu-coroutine.h"
#include "soak.h"

/* A child that stopped at a difference, and one whose valgrind tool
 * reported errors (make soak-helgrind passes --error-exitcode=99). */
#define EXIT_DIVERGED 3
#define EXIT_TOOL 99

/* What the child writes and the parent reads. */
struct shared {
    int n, cap;
    int diverged;
    struct event ev[];
};

static const struct program *prog;
static const struct trace *expected;
static struct shared *sh;
static bool forked;

static Coroutine *handles[SOAK_MAX_CO];
static int tags[SOAK_MAX_CO];           /* the opaque pointers: &tags[k] */
static int created, finished;
static CoQueue queues[SOAK_QUEUES];
static CoMutex mutexes[SOAK_MUTEXES];
static CoRwlock rwlocks[SOAK_RWLOCKS];

enum { H_IDLE, H_JOB, H_DONE, H_QUIT };

static struct helper {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state;
    const struct op *op;
    int32_t value;
} helpers[SOAK_HELPERS];

bool soak_can_fork(void)
{
#ifdef __EMSCRIPTEN__
    return false;
#else
    return true;
#endif
}

bool soak_under_tool(void)
{
#if defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return true;
#endif
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (RUNNING_ON_VALGRIND) {
        return true;
    }
#endif
    return getenv("VALGRIND") != NULL;
}

static void check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "soak: %s: %s\n", what, strerror(err));
        abort();
    }
}

/* The first difference: stop before doing anything the model did not
 * expect. Without a child process (WebAssembly) all we can do is stop. */
static void stop(void)
{
    sh->diverged = 1;
    if (forked) {
        _exit(EXIT_DIVERGED);
    }
    fprintf(stderr, "soak: cothread and the model differ at event %d\n", sh->n - 1);
    exit(1);
}

static void record(int actor, int kind, int pc, int32_t value)
{
    struct event e = { .actor = (int16_t)actor, .kind = (int16_t)kind, .pc = pc,
                       .value = value };
    int i = sh->n;

    if (i >= sh->cap) {
        stop();
    }
    sh->ev[i] = e;
    sh->n = i + 1;
    if (i >= expected->n || !event_equal(&e, &expected->ev[i])) {
        stop();
    }
}

static void coroutine_fn body(void *opaque);

/* Does op as the calling thread, coroutine or not. */
static int32_t exec(const struct op *op)
{
    Coroutine *co = op->a < SOAK_MAX_CO ? handles[op->a] : NULL;

    switch (op->kind) {
    case OP_CREATE:
        handles[op->a] = qemu_coroutine_create(body);
        created++;
        return 0;
    case OP_ENTER:
        qemu_coroutine_enter(co, &tags[op->a]);
        return 0;
    case OP_ENTER_IF_INACTIVE:
        qemu_coroutine_enter_if_inactive(co);
        return 0;
    case OP_ENTERED:
        return qemu_coroutine_entered(co);
    case OP_YIELD:
        qemu_coroutine_yield();
        return 0;
    case OP_LOCK:
        qemu_co_mutex_lock(&mutexes[op->a]);
        return 0;
    case OP_UNLOCK:
        qemu_co_mutex_unlock(&mutexes[op->a]);
        return 0;
    case OP_WAIT:
        qemu_co_queue_wait(&queues[op->a]);
        return 0;
    case OP_WAIT_MUTEX:
        qemu_co_queue_wait(&queues[op->a], &mutexes[op->b]);
        return 0;
    case OP_NEXT:
        return qemu_co_queue_next(&queues[op->a]);
    case OP_ENTER_NEXT:
        return qemu_co_enter_next(&queues[op->a]);
    case OP_RESTART_ALL:
        qemu_co_queue_restart_all(&queues[op->a]);
        return 0;
    case OP_EMPTY:
        return qemu_co_queue_empty(&queues[op->a]);
    case OP_RDLOCK:
        qemu_co_rwlock_rdlock(&rwlocks[op->a]);
        return 0;
    case OP_WRLOCK:
        qemu_co_rwlock_wrlock(&rwlocks[op->a]);
        return 0;
    case OP_RWUNLOCK:
        qemu_co_rwlock_unlock(&rwlocks[op->a]);
        return 0;
    case OP_UPGRADE:
        qemu_co_rwlock_upgrade(&rwlocks[op->a]);
        return 0;
    case OP_DOWNGRADE:
        qemu_co_rwlock_downgrade(&rwlocks[op->a]);
        return 0;
    default:
        return -2;
    }
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;

    check(pthread_mutex_lock(&h->lock), "pthread_mutex_lock");
    for (;;) {
        while (h->state != H_JOB && h->state != H_QUIT) {
            check(pthread_cond_wait(&h->cond, &h->lock), "pthread_cond_wait");
        }
        if (h->state == H_QUIT) {
            break;
        }
        const struct op *op = h->op;
        check(pthread_mutex_unlock(&h->lock), "pthread_mutex_unlock");
        int32_t v = exec(op);
        if (qemu_in_coroutine()) {
            v = -1;
        }
        check(pthread_mutex_lock(&h->lock), "pthread_mutex_lock");
        h->value = v;
        h->state = H_DONE;
        check(pthread_cond_broadcast(&h->cond), "pthread_cond_broadcast");
    }
    check(pthread_mutex_unlock(&h->lock), "pthread_mutex_unlock");
    return NULL;
}

/* Has helper thread n do op, and waits for it. */
static int32_t delegate(int n, const struct op *op)
{
    struct helper *h = &helpers[n];
    int32_t v;

    check(pthread_mutex_lock(&h->lock), "pthread_mutex_lock");
    h->op = op;
    h->state = H_JOB;
    check(pthread_cond_broadcast(&h->cond), "pthread_cond_broadcast");
    while (h->state != H_DONE) {
        check(pthread_cond_wait(&h->cond, &h->lock), "pthread_cond_wait");
    }
    h->state = H_IDLE;
    v = h->value;
    check(pthread_mutex_unlock(&h->lock), "pthread_mutex_unlock");
    return v;
}

/* Whether the caller is who it should be after a switch: main outside
 * coroutines, coroutine k as itself. */
static bool is_actor(int actor)
{
    if (actor == 0) {
        return !qemu_in_coroutine();
    }
    return qemu_in_coroutine() && qemu_coroutine_self() == handles[actor - 1];
}

static void run_script(int actor, const struct script *s)
{
    for (int pc = 0; pc < s->len; pc++) {
        const struct op *op = &s->ops[pc];
        int32_t v;

        record(actor, EV_OP, pc, 0);
        v = op->via ? delegate(op->via - 1, op) : exec(op);
        record(actor, EV_RET, pc, is_actor(actor) ? v : -1);
    }
}

static void coroutine_fn body(void *opaque)
{
    Coroutine *self = qemu_coroutine_self();
    int k = -1;
    int32_t code;

    for (int i = 0; i < prog->nco; i++) {
        if (handles[i] == self) {
            k = i;
            break;
        }
    }
    code = opaque == NULL ? 2 : (k >= 0 && opaque == &tags[k]) ? 1 : 0;
    if (k < 0 || !qemu_in_coroutine()) {
        record(-1, EV_START, 0, -1);      /* differs from anything expected */
    }
    record(k + 1, EV_START, 0, code);
    run_script(k + 1, &prog->co[k]);
    finished++;
    record(k + 1, EV_END, prog->co[k].len, 0);
    /* The object may be reused for a later coroutine: forget it. */
    handles[k] = NULL;
}

static void run_here(void)
{
    static unsigned default_pool;
    static bool have_default;

    if (!have_default) {
        default_pool = cothread_get_pool_size();
        have_default = true;
    }
    check(cothread_set_pool_size(prog->pool < 0 ? default_pool : (unsigned)prog->pool),
          "cothread_set_pool_size");
    memset(handles, 0, sizeof(handles));
    created = finished = 0;
    for (int i = 0; i < SOAK_QUEUES; i++) {
        qemu_co_queue_init(&queues[i]);
    }
    for (int i = 0; i < SOAK_MUTEXES; i++) {
        qemu_co_mutex_init(&mutexes[i]);
    }
    for (int i = 0; i < SOAK_RWLOCKS; i++) {
        qemu_co_rwlock_init(&rwlocks[i]);
    }
    for (int i = 0; i < SOAK_HELPERS; i++) {
        struct helper *h = &helpers[i];
        check(pthread_mutex_init(&h->lock, NULL), "pthread_mutex_init");
        check(pthread_cond_init(&h->cond, NULL), "pthread_cond_init");
        h->state = H_IDLE;
        check(pthread_create(&h->thread, NULL, helper_main, h), "pthread_create");
    }

    run_script(0, &prog->main);
    record(0, EV_DONE, prog->main.len, created - finished);

    for (int i = 0; i < SOAK_HELPERS; i++) {
        struct helper *h = &helpers[i];
        check(pthread_mutex_lock(&h->lock), "pthread_mutex_lock");
        h->state = H_QUIT;
        check(pthread_cond_broadcast(&h->cond), "pthread_cond_broadcast");
        check(pthread_mutex_unlock(&h->lock), "pthread_mutex_unlock");
        check(pthread_join(h->thread, NULL), "pthread_join");
        check(pthread_mutex_destroy(&h->lock), "pthread_mutex_destroy");
        check(pthread_cond_destroy(&h->cond), "pthread_cond_destroy");
    }
}

static void classify(struct outcome *out, bool hung, int status)
{
    out->at = sh->n;
    out->status = status;
    if (sh->diverged) {
        out->kind = OUT_DIVERGED;
        out->at = sh->n - 1;
        if (out->at >= 0 && out->at < expected->n && sh->ev[out->at].kind == EV_DONE &&
            expected->ev[out->at].kind == EV_DONE) {
            out->kind = OUT_LOST;
        }
    } else if (hung) {
        out->kind = OUT_HUNG;
#ifndef __EMSCRIPTEN__
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_TOOL) {
        out->kind = OUT_TOOL;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        out->kind = OUT_CRASHED;
#endif
    } else if (sh->n != expected->n) {
        out->kind = OUT_DIVERGED;       /* ended early */
    } else {
        out->kind = OUT_OK;
    }
    for (int i = 0; i < sh->n; i++) {
        trace_push(&out->got, sh->ev[i]);
    }
}

#ifndef __EMSCRIPTEN__
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_forked(double timeout, struct outcome *out)
{
    int fds[2], status = 0;
    bool hung = false;
    size_t used = 0;
    pid_t pid;

    check(pipe(fds) != 0 ? errno : 0, "pipe");
    fflush(NULL);
    pid = fork();
    check(pid < 0 ? errno : 0, "fork");
    if (pid == 0) {
        struct rlimit none = { 0, 0 };
        setrlimit(RLIMIT_CORE, &none);
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        forked = true;
        run_here();
        exit(0);
    }
    close(fds[1]);
    /* Read to the end before waiting, so a chatty child cannot block. */
    double deadline = now() + timeout;
    for (;;) {
        double left = deadline - now();
        struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
        if (left <= 0) {
            hung = true;
            kill(pid, SIGKILL);
            break;
        }
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            continue;
        }
        char buf[1024];
        ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t room = sizeof(out->output) - 1 - used;
        size_t take = (size_t)n < room ? (size_t)n : room;
        memcpy(out->output + used, buf, take);
        used += take;
    }
    out->output[used] = '\0';
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    classify(out, hung, status);
}
#endif

void cothread_run(const struct program *p, const struct trace *exp, double timeout,
                  struct outcome *out)
{
    size_t cap = (size_t)exp->n + 2;
    size_t size = sizeof(struct shared) + cap * sizeof(struct event);

    memset(out, 0, sizeof(*out));
    trace_init(&out->got);
    prog = p;
    expected = exp;
#ifndef __EMSCRIPTEN__
    sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(sh == MAP_FAILED ? errno : 0, "mmap");
#else
    sh = calloc(1, size);
    check(sh == NULL ? ENOMEM : 0, "calloc");
#endif
    sh->n = 0;
    sh->cap = (int)cap;
    sh->diverged = 0;
#ifndef __EMSCRIPTEN__
    run_forked(timeout, out);
    munmap(sh, size);
#else
    (void)timeout;
    run_here();
    classify(out, false, 0);
    free(sh);
#endif
    sh = NULL;
}

void outcome_free(struct outcome *out)
{
    trace_free(&out->got);
}

const char *outcome_name(enum outcome_kind k)
{
    switch (k) {
    case OUT_OK: return "agrees with the model";
    case OUT_DIVERGED: return "cothread and the model differ";
    case OUT_LOST: return "coroutines created and never finished";
    case OUT_CRASHED: return "the run crashed";
    case OUT_HUNG: return "the run hung";
    case OUT_TOOL: return "the analysis tool reported errors";
    }
    return "?";
}

void outcome_print(FILE *f, const struct program *p, const struct trace *exp,
                   const struct outcome *out)
{
    int from = out->at > 12 ? out->at - 12 : 0;

    fprintf(f, "result: %s", outcome_name(out->kind));
    if (out->kind == OUT_CRASHED) {
#ifndef __EMSCRIPTEN__
        if (WIFSIGNALED(out->status)) {
            fprintf(f, " (signal %d)", WTERMSIG(out->status));
        } else {
            fprintf(f, " (exit status %d)", WEXITSTATUS(out->status));
        }
#endif
    }
    fprintf(f, ", after %d events\n", out->got.n);
    if (out->kind == OUT_OK) {
        return;
    }
    if (from < out->at) {
        fprintf(f, "the events before, as both saw them:\n");
    }
    for (int i = from; i < out->at && i < out->got.n; i++) {
        fprintf(f, "  %5d  ", i);
        event_print(f, p, &out->got.ev[i]);
    }
    if (out->at < exp->n) {
        fprintf(f, "the model expects:\n  %5d  ", out->at);
        event_print(f, p, &exp->ev[out->at]);
    } else {
        fprintf(f, "the model expects nothing more\n");
    }
    if (out->at < out->got.n) {
        fprintf(f, "cothread did:\n  %5d  ", out->at);
        event_print(f, p, &out->got.ev[out->at]);
    } else {
        fprintf(f, "cothread did nothing more\n");
    }
    if (out->output[0] != '\0') {
        fprintf(f, "its stderr:\n%s%s", out->output,
                out->output[strlen(out->output) - 1] == '\n' ? "" : "\n");
    }
}
