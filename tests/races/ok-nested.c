/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Correct: a chain of nested coroutines passing data down (each child's
 * input lives on its parent's stack) and up (results returned through
 * yields and finishes), twice.
 */
#include "config.h"

#include "qemu-coroutine.h"
#include "race-util.h"

#define DEPTH 3

struct node {
    int depth;
    int down;
    int up;
};

static void node_body(void *opaque)
{
    struct node *n = opaque;

    if (n->depth == DEPTH) {
        n->up = n->down;
        qemu_coroutine_yield();
        n->up = n->down * 10;
        return;
    }

    struct node child = { n->depth + 1, n->down + 1, 0 };
    Coroutine *co = qemu_coroutine_create(node_body);

    qemu_coroutine_enter(co, &child);
    n->up = child.up + 1;
    qemu_coroutine_yield();
    child.down = n->down;
    qemu_coroutine_enter(co, NULL);
    n->up = child.up + 1;
}

int main(void)
{
    struct node root = { 0, 100, 0 };
    Coroutine *co = qemu_coroutine_create(node_body);

    qemu_coroutine_enter(co, &root);
    check(root.up == 100 + 2 * DEPTH, "result of the first pass");
    root.down = 7;
    qemu_coroutine_enter(co, NULL);
    check(root.up == 70 + DEPTH, "result of the second pass");
    return 0;
}
