/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* errno follows control across enter, yield and finish, both ways. */
#include "config.h"

#include <errno.h>

#include "harness.h"

struct errnos {
    int at_start;
    int after_resume;
    int nested_seen;
};

static void coroutine_fn errno_body(void *opaque)
{
    struct errnos *e = opaque;

    e->at_start = errno;
    errno = ERANGE;
    qemu_coroutine_yield();
    e->after_resume = errno;
    errno = EDOM;
}

static void test_errno_travels_both_ways(void **state)
{
    struct errnos e = { 0 };
    Coroutine *co = qemu_coroutine_create(errno_body);

    errno = EINTR;
    qemu_coroutine_enter(co, &e);
    assert_int_equal(e.at_start, EINTR);     /* caller -> coroutine on entry */
    assert_int_equal(errno, ERANGE);         /* coroutine -> caller on yield */

    errno = EAGAIN;
    qemu_coroutine_enter(co, NULL);
    assert_int_equal(e.after_resume, EAGAIN); /* caller -> coroutine on resume */
    assert_int_equal(errno, EDOM);            /* coroutine -> caller on finish */
}

static void coroutine_fn inner_errno(void *opaque)
{
    struct errnos *e = opaque;
    e->nested_seen = errno;
    errno = ENOENT;
}

static void coroutine_fn outer_errno(void *opaque)
{
    errno = EBADF;
    qemu_coroutine_enter(qemu_coroutine_create(inner_errno), opaque);
    /* The inner coroutine's errno reached us; pass it on up. */
}

static void test_errno_through_nesting(void **state)
{
    struct errnos e = { 0 };

    errno = 0;
    qemu_coroutine_enter(qemu_coroutine_create(outer_errno), &e);
    assert_int_equal(e.nested_seen, EBADF);
    assert_int_equal(errno, ENOENT);
}

static void coroutine_fn finish_at_once(void *opaque)
{
}

/* Creating (which may start a thread and tune the kernel) leaves errno be. */
static void test_create_leaves_errno_alone(void **state)
{
    Coroutine *co[40];

    for (int i = 0; i < 40; i++) {
        errno = EILSEQ;
        co[i] = i % 2 ? qemu_coroutine_create(finish_at_once)
                      : cothread_try_create(finish_at_once);
        assert_non_null(co[i]);
        assert_int_equal(errno, EILSEQ);
    }
    for (int i = 0; i < 40; i++) {
        errno = EILSEQ;
        qemu_coroutine_enter(co[i], NULL);
        assert_int_equal(errno, EILSEQ);   /* the body left it as it found it */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_travels_both_ways),
        cmocka_unit_test(test_errno_through_nesting),
        cmocka_unit_test(test_create_leaves_errno_alone),
    };
    return cmocka_run_group_tests_name("errno", tests, NULL, NULL);
}
