/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Many coroutines suspended at once: 1,000 with the default stack size,
 * which must fit in a 32-bit address space too (the cross check runs this
 * on every 32-bit target). Under valgrind, where each thread costs
 * megabytes of shadow state, and on WebAssembly, where each thread is a
 * Web Worker with a JavaScript engine of its own (about 9 MiB of the
 * host's memory each under Node.js), a smaller population exercises the
 * same code. COTHREAD_TEST_SUSPENDED=N sets the number, to find how many
 * fit on a platform: the test then fails saying where creation stopped.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SUSPENDED_NATIVE 1000
#define SUSPENDED_VALGRIND 200
#define SUSPENDED_WASM 200

static int suspended_count(void)
{
    const char *text = getenv("COTHREAD_TEST_SUSPENDED");

    if (text != NULL && *text != '\0') {
        char *end;
        long n = strtol(text, &end, 10);
        if (*end == '\0' && n > 0 && n <= 1000000) {
            return (int)n;
        }
        print_error("COTHREAD_TEST_SUSPENDED=%s is not a number from 1 to 1000000\n", text);
        fail();
    }
    if (under_valgrind()) {
        return SUSPENDED_VALGRIND;
    }
#ifdef __EMSCRIPTEN__
    return SUSPENDED_WASM;
#else
    return SUSPENDED_NATIVE;
#endif
}

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

static void test_many_suspended(void **state)
{
    const int SUSPENDED = suspended_count();
    Coroutine **co = calloc(SUSPENDED, sizeof(*co));
    struct slot *slots = calloc(SUSPENDED, sizeof(*slots));

    print_message("%d coroutines suspended at once, stacks of %zu KiB\n", SUSPENDED,
                  cothread_get_stack_size() / 1024);
    assert_non_null(co);
    assert_non_null(slots);
    for (int i = 0; i < SUSPENDED; i++) {
        slots[i].index = i;
        co[i] = cothread_try_create(park_and_check);
        if (co[i] == NULL) {
            print_error("cothread_try_create failed after %d coroutines: %s\n", i,
                        strerror(errno));
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
        cmocka_unit_test(test_many_suspended),
    };
    return cmocka_run_group_tests_name("scale", tests, NULL, NULL);
}
