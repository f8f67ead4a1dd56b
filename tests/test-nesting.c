/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Coroutines that create and enter coroutines: chains 128 deep. */
#include "config.h"

#include "harness.h"

#define DEPTH 128

struct chain {
    Coroutine *co[DEPTH];
    int entered[DEPTH];
    int resumed[DEPTH];
    int finished[DEPTH];
    bool in_coroutine[DEPTH];
    Coroutine *self[DEPTH];
    bool caller_entered[DEPTH];  /* was our enterer still "entered"? */
};

static struct chain chain;

static void coroutine_fn level(void *opaque)
{
    int i = (int)(intptr_t)opaque;

    chain.entered[i]++;
    chain.self[i] = qemu_coroutine_self();
    chain.in_coroutine[i] = qemu_in_coroutine();
    if (i > 0) {
        chain.caller_entered[i] = qemu_coroutine_entered(chain.co[i - 1]);
    }
    if (i + 1 < DEPTH) {
        chain.co[i + 1] = qemu_coroutine_create(level);
        qemu_coroutine_enter(chain.co[i + 1], (void *)(intptr_t)(i + 1));
        /* The level below yielded back to us, one level up. */
    }
    qemu_coroutine_yield();
    chain.resumed[i]++;
    if (i + 1 < DEPTH) {
        qemu_coroutine_enter(chain.co[i + 1], NULL);   /* it finishes */
    }
    chain.finished[i]++;
}

static void test_chain_128_deep(void **state)
{
    chain.co[0] = qemu_coroutine_create(level);
    qemu_coroutine_enter(chain.co[0], (void *)(intptr_t)0);

    for (int i = 0; i < DEPTH; i++) {
        assert_int_equal(chain.entered[i], 1);
        assert_int_equal(chain.resumed[i], 0);
        assert_ptr_equal(chain.self[i], chain.co[i]);
        assert_true(chain.in_coroutine[i]);
        if (i > 0) {
            assert_true(chain.caller_entered[i]);
        }
        assert_false(qemu_coroutine_entered(chain.co[i]));
    }

    qemu_coroutine_enter(chain.co[0], NULL);
    for (int i = 0; i < DEPTH; i++) {
        assert_int_equal(chain.resumed[i], 1);
        assert_int_equal(chain.finished[i], 1);
    }
}

/* Each yield goes back exactly one level. */
static int order[8];
static int order_len;

static void coroutine_fn leaf(void *opaque)
{
    order[order_len++] = 3;
    qemu_coroutine_yield();
    order[order_len++] = 5;
}

static void coroutine_fn middle(void *opaque)
{
    Coroutine *child = qemu_coroutine_create(leaf);

    order[order_len++] = 2;
    qemu_coroutine_enter(child, NULL);
    order[order_len++] = 4;
    qemu_coroutine_enter(child, NULL);
    order[order_len++] = 6;
}

static void test_yield_goes_one_level_up(void **state)
{
    order_len = 0;
    order[order_len++] = 1;
    qemu_coroutine_enter(qemu_coroutine_create(middle), NULL);
    order[order_len++] = 7;

    assert_int_equal(order_len, 7);
    for (int i = 0; i < 7; i++) {
        assert_int_equal(order[i], i + 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_128_deep),
        cmocka_unit_test(test_yield_goes_one_level_up),
    };
    return cmocka_run_group_tests_name("nesting", tests, NULL, NULL);
}
