/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Not a case: the pattern of race-churn on plain pthreads, to show what DRD
 * and ThreadSanitizer make of it without cothread. A writes x on a thread
 * it joins; B reads x afterwards, and joins short-lived threads of its own
 * before and after. Both threads get their threads from a spawner through
 * pipes, as cothread does under helgrind and DRD. Build and run by hand:
 *
 *   cc -g -pthread tests/races/plain-churn.c -o plain-churn
 *   valgrind --tool=drd ./plain-churn       (the race: reported in some runs)
 *   cc -g -fsanitize=thread -pthread tests/races/plain-churn.c -o plain-churn
 *   ./plain-churn                           (the race: reported in some runs)
 *
 * Both tools reuse the slots of threads that have been joined; a reader
 * that has synchronised with a slot's later occupant looks ordered after
 * the earlier one's accesses.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#else
#define VALGRIND_HG_DISABLE_CHECKING(addr, len) ((void)(addr), (void)(len))
#endif

#define ROUNDS 200
#define SEEDED 100

static int x;
static atomic_int step, busy;
static int request[2], reply[2];

static void *write_x(void *arg)
{
    x = 1;
    return arg;
}

static void *nothing(void *arg)
{
    return arg;
}

static void *spawner(void *arg)
{
    int which;

    while (read(request[0], &which, sizeof(which)) == sizeof(which) && which >= 0) {
        pthread_t t;
        pthread_create(&t, NULL, which ? write_x : nothing, NULL);
        if (write(reply[1], &t, sizeof(t)) != sizeof(t)) {
            break;
        }
    }
    return arg;
}

static pthread_t spawn(int which)
{
    pthread_t t;

    while (atomic_exchange(&busy, 1)) {
        sched_yield();
    }
    if (write(request[1], &which, sizeof(which)) != sizeof(which) ||
        read(reply[0], &t, sizeof(t)) != sizeof(t)) {
        perror("plain-churn");
    }
    atomic_store(&busy, 0);
    return t;
}

static void *thread_a(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        pthread_join(spawn(i == SEEDED), NULL);
        if (i == SEEDED) {
            atomic_store_explicit(&step, 1, memory_order_relaxed);
        }
    }
    return arg;
}

static void *thread_b(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        if (i == SEEDED) {
            while (!atomic_load_explicit(&step, memory_order_relaxed)) {
                sched_yield();
            }
            printf("x = %d\n", x);
        }
        pthread_join(spawn(0), NULL);
    }
    return arg;
}

int main(void)
{
    pthread_t s, a, b;
    int stop = -1;

    VALGRIND_HG_DISABLE_CHECKING(&step, sizeof(step));
    VALGRIND_HG_DISABLE_CHECKING(&busy, sizeof(busy));
    if (pipe(request) != 0 || pipe(reply) != 0) {
        perror("pipe");
        return 1;
    }
    pthread_create(&s, NULL, spawner, NULL);
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    if (write(request[1], &stop, sizeof(stop)) != sizeof(stop)) {
        perror("plain-churn");
    }
    pthread_join(s, NULL);
    return 0;
}
