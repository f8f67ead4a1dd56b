/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the automatic pool's shrinking costs the rest of the process: a
 * burst of coroutines leaves thousands of idle threads, and while they
 * leave (2 s later, and on), two plain threads of the process ping-pong
 * through a mutex and a condition variable. Prints the round trip per
 * 200 ms slice, and the worst slice against the median. Run it pinned
 * (make bench-shed does: taskset -c 0), where the leaving threads compete
 * with the ping-pong for the one CPU.
 */
#define _GNU_SOURCE 1
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "qemu-coroutine.h"

#define SLICE_NS 200e6
#define MAX_SLICES 100

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn;

static double now_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *partner(void *arg)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        while (turn != 1) {
            pthread_cond_wait(&cond, &lock);
        }
        turn = 0;
        pthread_cond_signal(&cond);
    }
    return arg;
}

static void coroutine_fn yield_once(void *opaque)
{
    (void)opaque;
    qemu_coroutine_yield();
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3000;
    int slices = argc > 2 ? atoi(argv[2]) * 5 : 25;
    double rt[MAX_SLICES], sorted[MAX_SLICES], start, worst = 0;
    Coroutine **co = calloc((size_t)(n > 0 ? n : 1), sizeof(*co));
    pthread_t t;

    if (co == NULL || n <= 0 || slices <= 0 || slices > MAX_SLICES) {
        fprintf(stderr, "usage: shed [COROUTINES [SECONDS (1 to 20)]]\n");
        return 2;
    }
    pthread_create(&t, NULL, partner, NULL);
    for (int i = 0; i < n; i++) {
        co[i] = qemu_coroutine_create(yield_once);
        qemu_coroutine_enter(co[i], NULL);
    }
    for (int i = 0; i < n; i++) {
        qemu_coroutine_enter(co[i], NULL);   /* finished: its thread is idle */
    }
    printf("%d coroutines finished, pool %u; ping-pong round trip per 200 ms:\n", n,
           cothread_get_pool_size());
    start = now_ns();
    pthread_mutex_lock(&lock);
    for (int s = 0; s < slices; s++) {
        double from = now_ns();
        long k = 0;

        while (now_ns() - from < SLICE_NS) {
            turn = 1;
            pthread_cond_signal(&cond);
            while (turn != 0) {
                pthread_cond_wait(&cond, &lock);
            }
            k++;
        }
        rt[s] = (now_ns() - from) / (double)k;
        printf("  t=%4.1f s  %7.0f ns\n", (from - start) / 1e9, rt[s]);
    }
    for (int s = 0; s < slices; s++) {
        sorted[s] = rt[s];
        worst = rt[s] > worst ? rt[s] : worst;
    }
    qsort(sorted, (size_t)slices, sizeof(sorted[0]), by_value);
    printf("median %.0f ns, worst slice %.0f ns: %.2f times the median\n",
           sorted[slices / 2], worst, worst / sorted[slices / 2]);
    return 0;
}
