/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bounded buffer shared by two producers and one consumer, built from a
 * CoMutex and two CoQueues. A producer that finds the buffer full waits in
 * not_full, a consumer that finds it empty waits in not_empty; each wait
 * lets go of the mutex while it waits and has it back when it returns.
 * Every wake-up runs inside the enter of whoever woke it, so main only has
 * to start the three coroutines: they hand control to each other until all
 * items have gone through.
 */
#include <stdio.h>

#include "qemu-coroutine.h"

#define CAPACITY 3
#define PER_PRODUCER 5

struct buffer {
    CoMutex lock;
    CoQueue not_full, not_empty;
    char items[CAPACITY][16];
    int head, count;
};

static struct buffer buf;       /* zero-filled: empty and unlocked */

static void coroutine_fn put(const char *item)
{
    qemu_co_mutex_lock(&buf.lock);
    while (buf.count == CAPACITY) {
        printf("  %s waits: buffer full\n", item);
        qemu_co_queue_wait(&buf.not_full, &buf.lock);
    }
    snprintf(buf.items[(buf.head + buf.count) % CAPACITY], sizeof(buf.items[0]), "%s", item);
    buf.count++;
    qemu_co_queue_next(&buf.not_empty);
    qemu_co_mutex_unlock(&buf.lock);
}

static void coroutine_fn take(char *item, size_t size)
{
    qemu_co_mutex_lock(&buf.lock);
    while (buf.count == 0) {
        printf("  consumer waits: buffer empty\n");
        qemu_co_queue_wait(&buf.not_empty, &buf.lock);
    }
    snprintf(item, size, "%s", buf.items[buf.head]);
    buf.head = (buf.head + 1) % CAPACITY;
    buf.count--;
    qemu_co_queue_next(&buf.not_full);
    qemu_co_mutex_unlock(&buf.lock);
}

static void coroutine_fn producer(void *opaque)
{
    const char *name = opaque;

    for (int i = 0; i < PER_PRODUCER; i++) {
        char item[16];
        snprintf(item, sizeof(item), "%s-%d", name, i);
        put(item);
    }
}

static void coroutine_fn consumer(void *opaque)
{
    int *received = opaque;

    for (int i = 0; i < 2 * PER_PRODUCER; i++) {
        char item[16];
        take(item, sizeof(item));
        printf("got %s\n", item);
        (*received)++;
    }
}

int main(void)
{
    static char a[] = "a", b[] = "b";
    int received = 0;

    qemu_coroutine_enter(qemu_coroutine_create(producer), a);
    qemu_coroutine_enter(qemu_coroutine_create(producer), b);
    qemu_coroutine_enter(qemu_coroutine_create(consumer), &received);
    printf("%d items received, %d left in the buffer\n", received, buf.count);
    return received == 2 * PER_PRODUCER && buf.count == 0 ? 0 : 1;
}
