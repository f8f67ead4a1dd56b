/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * stackswitch.c - the control for the race cases: the same API subset done
 * by switching stacks with ucontext on the caller's own thread.
 *
 * A case linked against this file shows which races a stack-switching
 * library lets the analysis tools see; linked against libcothread it must
 * show the same ones. So this file may synchronise only where switching
 * stacks does: the per-coroutine mutex, taken at enter and again when a
 * yield hands control back, gives the one edge a resumer on another thread
 * is owed (from the coroutine's last yield), and nothing here is shared
 * between coroutines.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <ucontext.h>

#include "qemu-coroutine.h"

#if defined(__SANITIZE_THREAD__)
#define USE_TSAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USE_TSAN_FIBERS 1
#endif
#endif

#ifdef USE_TSAN_FIBERS
#include <sanitizer/tsan_interface.h>
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/drd.h>
#include <valgrind/valgrind.h>
#endif

/* ThreadSanitizer needs more than the usual small coroutine stack. */
#define STACK_SIZE (256 * 1024)

enum state { CREATED, RUNNING, SUSPENDED };

struct Coroutine {
    ucontext_t ctx;
    CoroutineEntry *entry;
    void *opaque;
    Coroutine *caller;          /* who entered us last */
    char *stack;
    pthread_mutex_t lock;       /* guards state and caller across threads */
    enum state state;
    bool finished;
    bool is_leader;
    unsigned stack_id;          /* valgrind's handle for the stack, or 0 */
    void *fiber;                /* ThreadSanitizer's view of the stack */
};

static _Thread_local Coroutine *current;
static _Thread_local Coroutine leader;

static void die(const char *what)
{
    fprintf(stderr, "stackswitch: %s\n", what);
    abort();
}

/*
 * A coroutine resumed on another OS thread must not reuse a thread-local
 * address computed on the old one, so every access goes through a call
 * the compiler cannot merge across a switch.
 */
static __attribute__((noinline)) Coroutine *get_current(void)
{
    __asm__ volatile("" ::: "memory");
    return current;
}

static __attribute__((noinline)) void set_current(Coroutine *co)
{
    __asm__ volatile("" ::: "memory");
    current = co;
}

static __attribute__((noinline)) Coroutine *self_or_leader(void)
{
    Coroutine *self = get_current();

    if (self == NULL) {
        self = &leader;
        self->is_leader = true;
#ifdef USE_TSAN_FIBERS
        self->fiber = __tsan_get_current_fiber();
#endif
        set_current(self);
    }
    return self;
}

/*
 * Under ThreadSanitizer every switch synchronises, as it would on one
 * thread. The fiber switch is told not to do it itself: it keys the edge on
 * the fiber's own address, which outlives __tsan_destroy_fiber(), so a later
 * fiber allocated there would inherit a finished coroutine's history. The
 * coroutine object is application memory, and free() forgets its edges.
 */
static void switch_to(Coroutine *from, Coroutine *to)
{
#ifdef USE_TSAN_FIBERS
    __tsan_release(to);
    __tsan_switch_to_fiber(to->fiber, __tsan_switch_to_fiber_no_sync);
#endif
    if (swapcontext(&from->ctx, &to->ctx) != 0) {
        die("swapcontext failed");
    }
#ifdef USE_TSAN_FIBERS
    __tsan_acquire(from);
#endif
}

static void lock(Coroutine *co)
{
    if (pthread_mutex_lock(&co->lock) != 0) {
        die("pthread_mutex_lock failed");
    }
}

/* makecontext() passes ints; the coroutine comes in two halves, because
 * under ThreadSanitizer nothing may be read before the acquire. */
union co_words {
    Coroutine *co;
    unsigned int w[2];
};

static void trampoline(unsigned int w0, unsigned int w1)
{
    union co_words u = { .w = { w0, w1 } };
    Coroutine *co = u.co;

#ifdef USE_TSAN_FIBERS
    __tsan_acquire(co);
#endif
    co->entry(co->opaque);
    /* Only the enterer, on this same thread, looks at it. */
    co->finished = true;
    switch_to(co, co->caller);
    die("a finished coroutine was resumed");
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry)
{
    Coroutine *co = calloc(1, sizeof(*co));
    union co_words u = { 0 };

    if (co == NULL || (co->stack = malloc(STACK_SIZE)) == NULL) {
        die("out of memory");
    }
    co->entry = entry;
    co->state = CREATED;
    if (pthread_mutex_init(&co->lock, NULL) != 0 || getcontext(&co->ctx) != 0) {
        die("cannot set up a coroutine");
    }
    co->ctx.uc_stack.ss_sp = co->stack;
    co->ctx.uc_stack.ss_size = STACK_SIZE;
    co->ctx.uc_link = NULL;
    u.co = co;
    makecontext(&co->ctx, (void (*)(void))trampoline, 2, u.w[0], u.w[1]);
#ifdef HAVE_VALGRIND_VALGRIND_H
    /* DRD 3.19 aborts at exit (drd_stop_using_mem: a1 <= a2) in any process
     * that ever registered a stack; it only warns about the switches. */
    if (DRD_GET_VALGRIND_THREADID == 0) {
        co->stack_id = VALGRIND_STACK_REGISTER(co->stack, co->stack + STACK_SIZE);
    }
#endif
#ifdef USE_TSAN_FIBERS
    co->fiber = __tsan_create_fiber(0);
#endif
    return co;
}

static void destroy(Coroutine *co)
{
#ifdef USE_TSAN_FIBERS
    __tsan_destroy_fiber(co->fiber);
#endif
#ifdef HAVE_VALGRIND_VALGRIND_H
    if (co->stack_id != 0) {
        VALGRIND_STACK_DEREGISTER(co->stack_id);
    }
#endif
    pthread_mutex_destroy(&co->lock);
    free(co->stack);
    free(co);
}

void qemu_coroutine_enter(Coroutine *co, void *opaque)
{
    Coroutine *self = self_or_leader();

    if (co == NULL) {
        die("qemu_coroutine_enter: NULL coroutine");
    }
    lock(co);
    if (co->state == CREATED) {
        co->opaque = opaque;
    } else if (co->state != SUSPENDED) {
        die("qemu_coroutine_enter: coroutine is running or finished");
    }
    co->state = RUNNING;
    co->caller = self;
    pthread_mutex_unlock(&co->lock);

    set_current(co);
    switch_to(self, co);
    /* Back on the thread that entered: the enterer cannot migrate. */
    set_current(self);
    if (co->finished) {
        destroy(co);
        return;
    }
    /* The yield is recorded here rather than in the coroutine, so that the
     * unlock comes after swapcontext() saved the coroutine's registers: a
     * resumer on another thread reads them after its lock. */
    lock(co);
    co->state = SUSPENDED;
    pthread_mutex_unlock(&co->lock);
}

void coroutine_fn qemu_coroutine_yield(void)
{
    Coroutine *self = get_current();

    if (self == NULL || self->is_leader) {
        die("qemu_coroutine_yield: called outside a coroutine");
    }
    /* Nothing after the switch may touch thread-local state: we may come
     * back on another thread. */
    switch_to(self, self->caller);
}

Coroutine *coroutine_fn qemu_coroutine_self(void)
{
    return self_or_leader();
}

bool qemu_in_coroutine(void)
{
    Coroutine *self = get_current();

    return self != NULL && !self->is_leader;
}

/* The tunables mean nothing here; they answer like cothread's defaults. */
int cothread_set_stack_size(size_t bytes)
{
    (void)bytes;
    return 0;
}

size_t cothread_get_stack_size(void)
{
    return (size_t)1 << 20;
}

int cothread_set_pool_size(unsigned n)
{
    (void)n;
    return 0;
}

unsigned cothread_get_pool_size(void)
{
    return 64;
}
