/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process's events: the library being loaded, fork() and exit.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "coroutine-int.h"

#ifndef __GNUC__
#error "cothread registers its fork and exit handlers from a constructor (__attribute__((constructor)))"
#endif

const char co_process_anchor;

/*
 * Process exit. Suspended and never-entered coroutines are abandoned as
 * stack switching would abandon them, but their threads are unwound (a
 * jump back to the worker's start) and joined, so that no tool reports a
 * leak. When exit() is called inside a coroutine, the coroutines waiting on
 * it in its chain of enters are parked too and get the same treatment.
 * Coroutines running in other threads' chains cannot be stopped safely and
 * are left alone.
 */
static void on_exit_stop_threads(void)
{
    co_workers_stop_for_exit(co_claim_for_exit, co_current);
    co_leader_exit();
}

/* fork() must not copy the bookkeeping in the middle of a change. */
static void on_fork_prepare(void)
{
    co_settings_fork_prepare();
    co_workers_fork_prepare();
}

static void on_fork_parent(void)
{
    co_workers_fork_parent();
    co_settings_fork_parent();
}

static void on_fork_child(void)
{
    co_workers_fork_child();
    co_settings_fork_child();
    co_after_fork_child();
}

/* At load time the process (or dlopen()) is still single-threaded as far as
 * the library is concerned: no fork() can be half-way through when the fork
 * handlers appear, and the application's own exit handlers, registered
 * later, run before ours and may still use coroutines. */
/* Each step may fail in correct use (no key left, no memory); nothing can
 * report an error from a constructor, and the library cannot work without
 * any of them, so a failure stops the program, naming the call. */
__attribute__((constructor)) static void on_load(void)
{
    int err;

    co_leaders_init();
    co_workers_init(co_run);
    err = pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
    if (err != 0) {
        co_die_failed("library load", "cannot register the fork handlers",
                      "pthread_atfork", err);
    }
    /* atexit() reports no error number. */
    if (atexit(on_exit_stop_threads) != 0) {
        co_die_failed("library load", "cannot register the exit handler",
                      "atexit", 0);
    }
}
