/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Many coroutines suspended at once: 1,000 with the default stack size,
 * which must fit in a 32-bit address space too (the cross check runs this
 * on i686). Under valgrind, where each thread costs megabytes of shadow
 * state, a smaller population exercises the same code.
 */
#include "config.h"

#include <stdlib.h>

#include "harness.h"

#define SUSPENDED_NATIVE 1000
#define SUSPENDED_VALGRIND 200

struct slot {
    int index;
    int steps;
    int seen_index;
};

static void coroutine_fn park_and_check(void *opaque)
{
    struct slot *s = opaque;
    s->steps++;
    qemu_coroutine_yield();
    s->seen_index = s->index;   /* its own data survived the wait */
    s->steps++;
}

static void test_thousand_suspended(void **state)
{
    const int SUSPENDED = under_valgrind() ? SUSPENDED_VALGRIND : SUSPENDED_NATIVE;
    Coroutine **co = calloc(SUSPENDED, sizeof(*co));
    struct slot *slots = calloc(SUSPENDED, sizeof(*slots));

    print_message("%d coroutines suspended at once%s\n", SUSPENDED,
                  under_valgrind() ? " (fewer under valgrind)" : "");
    assert_non_null(co);
    assert_non_null(slots);
    for (int i = 0; i < SUSPENDED; i++) {
        slots[i].index = i;
        co[i] = cothread_try_create(park_and_check);
        if (co[i] == NULL) {
            print_error("cothread_try_create failed after %d coroutines\n", i);
            fail();
        }
        qemu_coroutine_enter(co[i], &slots[i]);
    }
    for (int i = 0; i < SUSPENDED; i++) {
        assert_int_equal(slots[i].steps, 1);
        assert_false(qemu_coroutine_entered(co[i]));
    }
    /* Resume in reverse order: any suspended coroutine can go next. */
    for (int i = SUSPENDED - 1; i >= 0; i--) {
        qemu_coroutine_enter(co[i], NULL);
        assert_int_equal(slots[i].steps, 2);
        assert_int_equal(slots[i].seen_index, i);
    }
    free(slots);
    free(co);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thousand_suspended),
    };
    return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
