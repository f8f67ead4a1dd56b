/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Coroutine threads block asynchronous signals, so a process-directed
 * signal runs its handler on an application thread, never on a parked
 * coroutine thread, and stays pending while the application blocks it.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct mask_seen {
    int blocked[32];
};

static const int async_signals[] = { SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
                                     SIGCHLD, SIGHUP, SIGPIPE, SIGQUIT };
static const int fault_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS };
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void coroutine_fn read_mask(void *opaque)
{
    struct mask_seen *m = opaque;
    sigset_t set;

    pthread_sigmask(SIG_BLOCK, NULL, &set);
    for (int sig = 1; sig < 32; sig++) {
        m->blocked[sig] = sigismember(&set, sig);
    }
}

static void test_coroutine_threads_block_async_signals(void **state)
{
    struct mask_seen m;
    sigset_t none, saved;

    /* Whatever the creator blocks or not, the coroutine gets the same mask. */
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, &saved);
    memset(&m, 0, sizeof(m));
    qemu_coroutine_enter(qemu_coroutine_create(read_mask), &m);
    pthread_sigmask(SIG_SETMASK, &saved, NULL);

    for (size_t i = 0; i < COUNT(async_signals); i++) {
        assert_int_equal(m.blocked[async_signals[i]], 1);
    }
    for (size_t i = 0; i < COUNT(fault_signals); i++) {
        assert_int_equal(m.blocked[fault_signals[i]], 0);
    }
}

static volatile sig_atomic_t handled;
static volatile sig_atomic_t handled_in_coroutine;
static pthread_t handled_on;

static void on_signal(int sig)
{
    handled_on = pthread_self();
    handled_in_coroutine = qemu_in_coroutine();
    handled = sig;
}

static void coroutine_fn park(void *opaque)
{
    qemu_coroutine_yield();
}

static Coroutine *parked[8];

static void park_some(void)
{
    for (size_t i = 0; i < COUNT(parked); i++) {
        parked[i] = qemu_coroutine_create(park);
        if (i % 2 == 0) {
            qemu_coroutine_enter(parked[i], NULL);   /* suspended in yield */
        }
    }
}

static void finish_parked(void)
{
    for (size_t i = 0; i < COUNT(parked); i++) {
        if (i % 2 == 1) {
            qemu_coroutine_enter(parked[i], NULL);   /* now it yields */
        }
        qemu_coroutine_enter(parked[i], NULL);       /* and now it finishes */
    }
}

static void wait_handled(void)
{
    for (int i = 0; i < 5000 && !handled; i++) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
}

/*
 * qemu-i386 (7.2) emulates one GDT for all threads: when a signal handler
 * returns it reloads %gs from the TLS entry the last thread set up, so the
 * thread then runs with another thread's thread-local storage.
 */
static void skip_if_qemu_i386(void)
{
#if defined(__i386__)
    if (under_qemu_user()) {
        print_message("skipped: under qemu-i386 a thread returns from a signal "
                      "handler with another thread's TLS while threads are alive\n");
        skip();
    }
#endif
}

static void test_process_signal_runs_on_application_thread(void **state)
{
    struct sigaction sa, old;
    sigset_t usr1, saved;

    skip_if_qemu_i386();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &usr1, &saved);

    park_some();
    handled = 0;
    assert_int_equal(kill(getpid(), SIGUSR1), 0);
    wait_handled();
    assert_int_equal(handled, SIGUSR1);
    assert_true(pthread_equal(handled_on, pthread_self()));
    assert_int_equal(handled_in_coroutine, 0);
    finish_parked();

    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    sigaction(SIGUSR1, &old, NULL);
}

static void test_blocked_signal_stays_pending(void **state)
{
    struct sigaction sa, old;
    sigset_t usr2, saved, pending;

    skip_if_qemu_i386();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, &saved);

    park_some();
    handled = 0;
    assert_int_equal(kill(getpid(), SIGUSR2), 0);
    {
        struct timespec wait = { 0, 50000000 };
        nanosleep(&wait, NULL);
    }
    assert_int_equal(handled, 0);           /* no coroutine thread took it */
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGUSR2), 1);

    pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);  /* delivered here, now */
    wait_handled();
    assert_int_equal(handled, SIGUSR2);
    assert_true(pthread_equal(handled_on, pthread_self()));
    finish_parked();

    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    sigaction(SIGUSR2, &old, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coroutine_threads_block_async_signals),
        cmocka_unit_test(test_process_signal_runs_on_application_thread),
        cmocka_unit_test(test_blocked_signal_stays_pending),
    };
    return cmocka_run_group_tests_name("signals", tests, NULL, NULL);
}
