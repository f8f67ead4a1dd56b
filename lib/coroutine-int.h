/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Internals shared by the backend-neutral core (coroutine.c), the thread
 * backend (coroutine-thread.c) and the settings parser (settings.c).
 */
#ifndef COTHREAD_COROUTINE_INT_H
#define COTHREAD_COROUTINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "qemu-coroutine.h"

/*
 * Life of a coroutine object (a leader is always CO_RUNNING):
 *
 *   CO_CREATED --enter--> CO_RUNNING --yield--> CO_SUSPENDED --enter--> ...
 *                             |
 *                             +--entry returns--> CO_FINISHED
 *
 * A finished object either goes back to the pool (CO_IDLE, its thread waits
 * for the next coroutine) or is stopped, joined and freed. At process exit
 * parked objects are claimed as CO_STOPPED and their threads unwound.
 * Every entry into CO_RUNNING is a compare-and-swap, which is how two
 * threads entering one coroutine at once are caught.
 */
enum co_state {
    CO_CREATED,
    CO_RUNNING,
    CO_SUSPENDED,
    CO_FINISHED,
    CO_IDLE,
    CO_STOPPED,
};

/* What a thread finds in its baton when it is woken. */
enum co_action {
    CO_ACT_NONE,
    CO_ACT_ENTER,     /* run (the entry function, or on from a yield) */
    CO_ACT_YIELD,     /* the coroutine we entered yielded back to us */
    CO_ACT_FINISH,    /* the coroutine we entered returned from its entry */
    CO_ACT_STOP,      /* leave the thread: process exit or pool trim */
};

/*
 * A baton is how a thread waits for its turn: one mutex, one condition
 * variable and one predicate per thread, so waking one thread never wakes
 * another, and no lock is held while the woken thread runs.
 */
struct co_baton {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum co_action action;  /* CO_ACT_NONE while the owner must wait */
    int errno_value;        /* the sender's errno, restored by the owner */
};

struct Coroutine {
    _Atomic int state;            /* enum co_state */
    bool is_leader;
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;            /* who entered us last, while running */
    struct co_baton baton;

    /* Thread backend; unused by leaders. */
    pthread_t thread;
    size_t stack_size;
    unsigned fork_generation;     /* co_fork_generation when created */
    Coroutine *next, *prev;       /* registry of all coroutine threads */
    Coroutine *next_idle;         /* pool free list */
};

/* Misuse by the caller: one line naming the call and the problem, abort. */
#define CO_MISUSE_IF(cond, func, problem) \
    do { \
        if (cond) { \
            co_die(func, problem); \
        } \
    } while (0)

/* Every pthread call whose failure would be a library bug goes here. */
#define CO_PTHREAD(call) co_pthread_check((call), #call)

_Noreturn void co_die(const char *func, const char *problem);
void co_pthread_check(int err, const char *what);

/* coroutine.c: the running object of this OS thread (leader or coroutine). */
extern _Thread_local Coroutine *co_current;
enum co_action co_run_entry(Coroutine *co);
bool co_in_chain(const Coroutine *self, const Coroutine *co);

/* coroutine-thread.c: handoff, threads, pool, fork and exit handling. */
extern bool co_forked_in_coroutine;
extern unsigned co_fork_generation;
void co_baton_init(struct co_baton *b);
void co_baton_destroy(struct co_baton *b);
enum co_action co_switch(Coroutine *from, Coroutine *to, enum co_action act);
Coroutine *co_thread_create(CoroutineEntry *entry, int *err);
void co_thread_release(Coroutine *co);
void co_leader_register(Coroutine *leader);
size_t co_live_count(void);

/* settings.c: limits and parsing of the environment variables. */
#define CO_STACK_SIZE_DEFAULT ((size_t)1 << 20)
#define CO_STACK_SIZE_MAX ((size_t)1 << 30)
#define CO_POOL_SIZE_DEFAULT 64u
#define CO_POOL_SIZE_MAX 65536u
size_t co_stack_size_min(void);
size_t co_round_to_page(size_t bytes);
size_t co_env_stack_size(void);
unsigned co_env_pool_size(unsigned fallback);

#endif
