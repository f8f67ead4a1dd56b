/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process's events, fork() and exit, for the files that keep state
 * across them. Each file watches from a constructor of its own, so a
 * static link that pulls the file in also pulls in its watch; the handlers
 * run in a fixed order of stages, whatever order the constructors ran in.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "coroutine-int.h"

static const struct co_process_hooks *watchers[CO_STAGES];

/* fork() must not copy anyone's bookkeeping in the middle of a change:
 * every stage takes its locks, the lowest first. */
static void on_fork_prepare(void)
{
    for (int i = 0; i < CO_STAGES; i++) {
        if (watchers[i] != NULL && watchers[i]->fork_prepare != NULL) {
            watchers[i]->fork_prepare();
        }
    }
}

static void on_fork_parent(void)
{
    for (int i = CO_STAGES - 1; i >= 0; i--) {
        if (watchers[i] != NULL && watchers[i]->fork_parent != NULL) {
            watchers[i]->fork_parent();
        }
    }
}

static void on_fork_child(void)
{
    for (int i = CO_STAGES - 1; i >= 0; i--) {
        if (watchers[i] != NULL && watchers[i]->fork_child != NULL) {
            watchers[i]->fork_child();
        }
    }
}

/* Registered while the library loads, so the application's own exit
 * handlers, registered later, run before this one and may still use
 * coroutines. */
static void on_exit_run_hooks(void)
{
    for (int i = CO_STAGES - 1; i >= 0; i--) {
        if (watchers[i] != NULL && watchers[i]->exit != NULL) {
            watchers[i]->exit();
        }
    }
}

void co_process_watch(enum co_stage stage, const struct co_process_hooks *hooks)
{
    static bool registered;
    int err;

    /* Constructors run while the process (or dlopen()) is single-threaded
     * as far as the library is concerned: no lock is needed here, and no
     * fork() can be half-way through when the handlers appear. */
    watchers[stage] = hooks;
    if (registered) {
        return;
    }
    registered = true;
    err = pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
    if (err != 0) {
        co_die_failed("library load", "cannot register the fork handlers",
                      "pthread_atfork", err);
    }
    /* atexit() reports no error number. */
    if (atexit(on_exit_run_hooks) != 0) {
        co_die_failed("library load", "cannot register the exit handler",
                      "atexit", 0);
    }
}
