/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: qemu_coroutine_self() and qemu_in_coroutine() on several threads
 * at once, outside and inside coroutines, before and after a yield.
 */
#include "config.h"

#include <stdbool.h>

#include "qemu-coroutine.h"
#include "race-util.h"

struct seen {
    Coroutine *leader;
    Coroutine *first;
    Coroutine *second;
    bool inside;
};

static void body(void *opaque)
{
    struct seen *s = opaque;

    s->inside = qemu_in_coroutine();
    s->first = qemu_coroutine_self();
    qemu_coroutine_yield();
    s->second = qemu_coroutine_self();
}

static void worker(void)
{
    struct seen s = { 0 };
    Coroutine *co;

    check(!qemu_in_coroutine(), "in_coroutine on a fresh thread");
    s.leader = qemu_coroutine_self();
    check(s.leader != NULL && s.leader == qemu_coroutine_self(), "stable leader");
    co = qemu_coroutine_create(body);
    qemu_coroutine_enter(co, &s);
    check(!qemu_in_coroutine(), "in_coroutine after a yield");
    qemu_coroutine_enter(co, NULL);
    check(s.inside && s.first == co && s.second == co, "self inside the coroutine");
    check(qemu_coroutine_self() == s.leader, "leader after the finish");
}

int main(void)
{
    run_threads((race_fn *const[]){ worker, worker, worker, worker }, 4);
    return 0;
}
