/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A parser written as straight-line code but fed by callbacks. Input
 * arrives in arbitrary chunks (as from a socket); on_data() hands each
 * chunk to the parser coroutine, which yields whenever it needs more bytes.
 * The parser reads "key=value;" records without any explicit state machine.
 */
#include <stdio.h>
#include <string.h>

#include "qemu-coroutine.h"

struct parser {
    Coroutine *co;
    const char *chunk;      /* the bytes on_data() was given */
    size_t len, pos;
    bool eof;
    int records;
};

/* Next input byte, or -1 at end of input; yields while waiting for data. */
static int coroutine_fn next_byte(struct parser *p)
{
    while (p->pos == p->len) {
        if (p->eof) {
            return -1;
        }
        qemu_coroutine_yield();
    }
    return (unsigned char)p->chunk[p->pos++];
}

/* Reads up to (not including) stop into buf; returns the stop byte or -1. */
static int coroutine_fn read_until(struct parser *p, int stop, char *buf, size_t size)
{
    size_t n = 0;
    int c;

    while ((c = next_byte(p)) != -1 && c != stop) {
        if (n + 1 < size) {
            buf[n++] = (char)c;
        }
    }
    buf[n] = '\0';
    return c;
}

static void coroutine_fn parse_records(void *opaque)
{
    struct parser *p = opaque;
    char key[32], value[64];

    for (;;) {
        if (read_until(p, '=', key, sizeof(key)) != '=') {
            break;
        }
        int end = read_until(p, ';', value, sizeof(value));
        printf("  record %d: %s -> %s\n", ++p->records, key, value);
        if (end != ';') {
            break;
        }
    }
}

/* The callback an event loop would call. */
static void on_data(struct parser *p, const char *data, size_t len)
{
    p->chunk = data;
    p->len = len;
    p->pos = 0;
    p->eof = len == 0;
    printf("on_data: %zu bytes%s\n", len, len == 0 ? " (end of input)" : "");
    qemu_coroutine_enter(p->co, p);
}

int main(void)
{
    static const char *chunks[] = {
        "name=cot", "hread;versi", "on=0.1;backe", "nd=pthreads;", "x", "=y;",
    };
    struct parser p = { .co = qemu_coroutine_create(parse_records) };

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        on_data(&p, chunks[i], strlen(chunks[i]));
    }
    on_data(&p, "", 0);   /* the parser finishes here */
    printf("Parsed %d records from %zu chunks.\n", p.records,
           sizeof(chunks) / sizeof(chunks[0]));
    return 0;
}
