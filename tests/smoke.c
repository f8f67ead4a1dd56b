/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A cmocka-free check of the core semantics, for builds where cmocka is
 * not available (musl, some cross targets). Prints "N passed, N failed".
 */
#include <errno.h>
#include <stdio.h>

#include "qemu-coroutine.h"

static int passed, failed;

#define CHECK(cond) \
    do { \
        if (cond) { \
            passed++; \
        } else { \
            failed++; \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

struct seen {
    void *opaque;
    Coroutine *self;
    bool in_coroutine;
    int errno_in;
    int resumed;
    int depth_reached;
};

static void coroutine_fn body(void *opaque)
{
    struct seen *s = opaque;
    s->opaque = opaque;
    s->self = qemu_coroutine_self();
    s->in_coroutine = qemu_in_coroutine();
    s->errno_in = errno;
    errno = 77;
    qemu_coroutine_yield();
    s->resumed++;
}

static int depth_left;

static void coroutine_fn nest(void *opaque)
{
    struct seen *s = opaque;
    s->depth_reached++;
    if (--depth_left > 0) {
        Coroutine *child = qemu_coroutine_create(nest);
        qemu_coroutine_enter(child, s);
        qemu_coroutine_enter(child, NULL);
    }
    qemu_coroutine_yield();
}

int main(void)
{
    struct seen s = { 0 };
    Coroutine *co = qemu_coroutine_create(body);

    CHECK(co != NULL);
    CHECK(!qemu_in_coroutine());
    CHECK(qemu_coroutine_self() != NULL);
    errno = 5;
    qemu_coroutine_enter(co, &s);
    CHECK(s.opaque == &s);
    CHECK(s.self == co);
    CHECK(s.in_coroutine);
    CHECK(s.errno_in == 5);
    CHECK(errno == 77);
    CHECK(!qemu_coroutine_entered(co));
    qemu_coroutine_enter(co, NULL);
    CHECK(s.resumed == 1);

    struct seen deep = { 0 };
    depth_left = 128;
    Coroutine *root = qemu_coroutine_create(nest);
    qemu_coroutine_enter(root, &deep);
    qemu_coroutine_enter(root, NULL);
    CHECK(deep.depth_reached == 128);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
