/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The calls tests/fault-inject.c can make fail, and what the workload of
 * tests/test-faults asks it. See fault-inject.c for how it works.
 */
#ifndef COTHREAD_FAULT_INJECT_H
#define COTHREAD_FAULT_INJECT_H

#include <stdbool.h>

enum fault_call {
    FAULT_CALLOC,
    FAULT_REALLOC,
    FAULT_PTHREAD_CREATE,
    FAULT_PTHREAD_ATTR_INIT,
    FAULT_PTHREAD_ATTR_SETSTACKSIZE,
    FAULT_PTHREAD_ATTR_DESTROY,
    FAULT_PTHREAD_MUTEX_INIT,
    FAULT_PTHREAD_COND_INIT,
    FAULT_PTHREAD_KEY_CREATE,
    FAULT_PTHREAD_ATFORK,
    FAULT_ATEXIT,
    FAULT_PIPE,
    FAULT_PTHREAD_SIGMASK,
    FAULT_PTHREAD_SETSPECIFIC,
    FAULT_PTHREAD_SETCANCELSTATE,
    FAULT_CALLS
};

struct fault_call_info {
    const char *name;
    int err;            /* what the injected failure reports */
    /* Whether POSIX lets the call fail so in correct use. Where it does not
     * (only EINVAL for a bad argument), the library may report the failure
     * as an internal error; where it does, it must not. */
    bool allowed;
};

extern const struct fault_call_info fault_calls[FAULT_CALLS];

/* Marks the start of main(): a fault before it hit the library's load. */
void fault_main_started(void);
/* Whether the one fault of this run has been injected. */
bool fault_fired(void);
/* The error the fault reported, once it has fired. */
int fault_injected_errno(void);
/* The error injected into the call of that name; -1 for an unknown name. */
int fault_errno_of(const char *name);

#endif
