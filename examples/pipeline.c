/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A producer/consumer pipeline: a reader coroutine produces words, a filter
 * coroutine keeps the long ones and upper-cases them, and main consumes
 * the result. Each stage is a plain loop; a stage that needs input enters
 * the stage before it, and a stage with output yields it to its caller.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "qemu-coroutine.h"

struct stage {
    Coroutine *co;
    struct stage *source;   /* where this stage pulls its input from */
    const char *item;       /* the item just produced, NULL when done */
    char buf[64];
};

/* Pulls the next item from a stage, or NULL when it has finished. */
static const char *pull(struct stage *s)
{
    if (s->co == NULL) {
        return NULL;
    }
    qemu_coroutine_enter(s->co, s);
    if (s->item == NULL) {
        s->co = NULL;       /* it returned: the handle is gone */
    }
    return s->item;
}

static void coroutine_fn reader(void *opaque)
{
    static const char text[] =
        "coroutines let sequential code wait for events without callbacks "
        "and threads let debuggers see every stack";
    struct stage *s = opaque;
    const char *p = text;

    while (*p != '\0') {
        size_t len = strcspn(p, " ");
        snprintf(s->buf, sizeof(s->buf), "%.*s", (int)len, p);
        s->item = s->buf;
        qemu_coroutine_yield();
        p += len;
        p += strspn(p, " ");
    }
    s->item = NULL;
}

static void coroutine_fn long_words_upper(void *opaque)
{
    struct stage *s = opaque;
    const char *word;

    while ((word = pull(s->source)) != NULL) {
        if (strlen(word) < 7) {
            continue;
        }
        size_t i;
        for (i = 0; word[i] != '\0' && i < sizeof(s->buf) - 1; i++) {
            s->buf[i] = (char)toupper((unsigned char)word[i]);
        }
        s->buf[i] = '\0';
        s->item = s->buf;
        qemu_coroutine_yield();
    }
    s->item = NULL;
}

int main(void)
{
    struct stage words = { .co = qemu_coroutine_create(reader) };
    struct stage filter = { .co = qemu_coroutine_create(long_words_upper),
                            .source = &words };
    const char *word;
    int n = 0;

    printf("Words of seven letters or more, upper-cased by a coroutine pipeline:\n");
    while ((word = pull(&filter)) != NULL) {
        printf("  %d. %s\n", ++n, word);
    }
    printf("Pipeline finished: %d words.\n", n);
    return 0;
}
