/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stack size and pool size: defaults, environment variables, the
 * cothread_ calls, bad values, and running out of threads. The
 * environment is read once per process, so each case runs in a child.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"

#define MiB ((size_t)1 << 20)

static int expect_stack_size(void *arg)
{
    return cothread_get_stack_size() == *(size_t *)arg ? 0 : 1;
}

static int with_env(const char *name, const char *value, int (*fn)(void *), void *arg)
{
    unsetenv("COTHREAD_STACK_SIZE");
    unsetenv("COTHREAD_POOL_SIZE");
    if (value != NULL) {
        setenv(name, value, 1);
    }
    return fn(arg);
}

struct env_case {
    const char *name;
    const char *value;
    size_t expect;
};

static int env_stack_case(void *arg)
{
    struct env_case *c = arg;
    return with_env(c->name, c->value, expect_stack_size, &c->expect);
}

static void test_stack_size_default_and_env(void **state)
{
    struct env_case ok[] = {
        { "COTHREAD_STACK_SIZE", NULL, COTHREAD_DEFAULT_STACK_SIZE },
        { "COTHREAD_STACK_SIZE", "524288", 512 * 1024 },
        { "COTHREAD_STACK_SIZE", "512k", 512 * 1024 },
        { "COTHREAD_STACK_SIZE", "2M", 2 * MiB },
        { "COTHREAD_STACK_SIZE", "1g", 1024 * MiB },
        /* Rounded up to pages. Above every PTHREAD_STACK_MIN: aarch64's
         * is 128 KiB. */
        { "COTHREAD_STACK_SIZE", "300001", 0 },
    };
    long page = sysconf(_SC_PAGESIZE);

    ok[5].expect = (300001 + (size_t)page - 1) / (size_t)page * (size_t)page;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_child_succeeds(env_stack_case, &ok[i]);
    }
}

static void test_stack_size_env_rejects_bad_values(void **state)
{
    const char *bad[] = { "", "abc", "10x", "0", "4", "-1", "1.5M", "2g",
                          "99999999999999999999999", "1kk" };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct env_case c = { "COTHREAD_STACK_SIZE", bad[i], 0 };
        assert_child_aborts(env_stack_case, &c, "COTHREAD_STACK_SIZE",
                            "is not a valid coroutine stack size", NULL);
    }
}

static int set_stack_size_checks(void *arg)
{
    size_t min = cothread_stack_size_min();

    if (min < 16384 || min > MiB) {
        return 1;
    }
    if (cothread_set_stack_size(min - 1) != EINVAL ||
        cothread_set_stack_size(0) != EINVAL ||
        cothread_set_stack_size(((size_t)1 << 30) + 1) != EINVAL ||
        cothread_get_stack_size() != COTHREAD_DEFAULT_STACK_SIZE) {
        return 2;
    }
    if (cothread_set_stack_size(256 * 1024) != 0 ||
        cothread_get_stack_size() != 256 * 1024) {
        return 3;
    }
    return 0;
}

static void test_set_stack_size(void **state)
{
    assert_child_succeeds(set_stack_size_checks, NULL);
}

/* A coroutine can use most of its stack. */
static void coroutine_fn use_stack(void *opaque)
{
    size_t bytes = *(size_t *)opaque;
    volatile char *buf = __builtin_alloca(bytes);

    for (size_t i = 0; i < bytes; i += 512) {
        buf[i] = (char)i;
    }
    *(size_t *)opaque = buf[512] == (char)512 ? 0 : 1;
}

#if defined(__SANITIZE_THREAD__)
#define TLS_ON_STACK MiB    /* ThreadSanitizer's thread state (~800 KiB) */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TLS_ON_STACK MiB
#endif
#endif
#ifndef TLS_ON_STACK
#define TLS_ON_STACK 0
#endif

static void test_stack_is_usable(void **state)
{
    size_t saved = cothread_get_stack_size();
    size_t use = MiB + MiB / 2;

    /* glibc carves static TLS out of the requested stack size. */
    assert_int_equal(cothread_set_stack_size(2 * MiB + TLS_ON_STACK), 0);
    qemu_coroutine_enter(qemu_coroutine_create(use_stack), &use);
    assert_int_equal(use, 0);
    assert_int_equal(cothread_set_stack_size(saved), 0);
}

static int expect_pool_size(void *arg)
{
    return cothread_get_pool_size() == *(unsigned *)arg ? 0 : 1;
}

static int env_pool_case(void *arg)
{
    struct env_case *c = arg;
    unsigned expect = (unsigned)c->expect;
    return with_env(c->name, c->value, expect_pool_size, &expect);
}

static void test_pool_size_env(void **state)
{
    struct env_case c3 = { "COTHREAD_POOL_SIZE", "3", 3 };
    struct env_case c0 = { "COTHREAD_POOL_SIZE", "0", 0 };
    struct env_case c_auto = { "COTHREAD_POOL_SIZE", "auto", COTHREAD_POOL_AUTO };
    struct env_case dflt = { "COTHREAD_POOL_SIZE", NULL,
                             under_thread_tool() ? 0 : COTHREAD_POOL_AUTO };
    const char *bad[] = { "", "x", "-1", "65537", "1k", "Auto", "auto1" };

    assert_child_succeeds(env_pool_case, &c3);
    assert_child_succeeds(env_pool_case, &c_auto);
    assert_child_succeeds(env_pool_case, &c0);
    assert_child_succeeds(env_pool_case, &dflt);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct env_case c = { "COTHREAD_POOL_SIZE", bad[i], 0 };
        assert_child_aborts(env_pool_case, &c, "COTHREAD_POOL_SIZE",
                            "is not a valid coroutine pool size", NULL);
    }
}

static void test_set_pool_size(void **state)
{
    unsigned saved = cothread_get_pool_size();

    assert_int_equal(cothread_set_pool_size(65537), EINVAL);
    assert_int_equal(cothread_get_pool_size(), saved);
    assert_int_equal(cothread_set_pool_size(7), 0);
    assert_int_equal(cothread_get_pool_size(), 7);
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO), 0);
    assert_int_equal(cothread_get_pool_size(), COTHREAD_POOL_AUTO);
    assert_int_equal(cothread_set_pool_size(COTHREAD_POOL_AUTO - 1), EINVAL);
    assert_int_equal(cothread_set_pool_size(saved), 0);
}

/* Running out of threads: an address-space limit below one stack. */
static void coroutine_fn park(void *opaque)
{
    qemu_coroutine_yield();
}

static bool limit_address_space(void)
{
    unsigned long pages;
    FILE *f = fopen("/proc/self/statm", "r");
    struct rlimit lim;

    if (f == NULL || fscanf(f, "%lu", &pages) != 1) {
        if (f != NULL) {
            fclose(f);
        }
        return false;
    }
    fclose(f);
    lim.rlim_cur = lim.rlim_max = pages * (rlim_t)sysconf(_SC_PAGESIZE) + 128 * MiB;
    return setrlimit(RLIMIT_AS, &lim) == 0;
}

static int exhaust(void *arg)
{
    bool try_variant = arg != NULL;

    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(qemu_coroutine_create(park), NULL);
    }
    if (cothread_set_stack_size(512 * MiB) != 0 || !limit_address_space()) {
        return 20;
    }
    if (try_variant) {
        errno = 0;
        Coroutine *co = cothread_try_create(park);
        return co == NULL && errno == EAGAIN ? 0 : 21;
    }
    qemu_coroutine_create(park);
    return 22;
}

static bool can_limit_address_space(void)
{
    if (under_valgrind()) {
        print_message("skipped: valgrind manages the address space itself\n");
        return false;
    }
    if (under_qemu_user()) {
        print_message("skipped: qemu-user ignores setrlimit(RLIMIT_AS) (it "
                      "would limit the emulator itself)\n");
        return false;
    }
#ifdef __EMSCRIPTEN__
    print_message("skipped: WebAssembly has no address-space limit to set "
                  "(Emscripten's setrlimit() returns 0 and does nothing)\n");
    return false;
#endif
    if (access("/proc/self/statm", R_OK) != 0) {
        print_message("skipped: no /proc/self/statm to size RLIMIT_AS\n");
        return false;
    }
    return true;
}

static void test_try_create_reports_exhaustion(void **state)
{
    if (!can_limit_address_space()) {
        skip();
    }
    assert_child_succeeds(exhaust, (void *)1);
}

static void test_create_aborts_on_exhaustion(void **state)
{
    if (!can_limit_address_space()) {
        skip();
    }
    assert_child_aborts(exhaust, NULL, "qemu_coroutine_create",
                        "cannot create a coroutine thread",
                        "(3 coroutines alive)", NULL);
}

static void test_try_create_null_entry(void **state)
{
    errno = 0;
    assert_null(cothread_try_create(NULL));
    assert_int_equal(errno, EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* These run in children of a process that has not used the
         * library yet, so that each reads the environment afresh. */
        cmocka_unit_test(test_stack_size_default_and_env),
        cmocka_unit_test(test_stack_size_env_rejects_bad_values),
        cmocka_unit_test(test_set_stack_size),
        cmocka_unit_test(test_pool_size_env),
        cmocka_unit_test(test_try_create_reports_exhaustion),
        cmocka_unit_test(test_create_aborts_on_exhaustion),
        /* These use the library in this process. */
        cmocka_unit_test(test_stack_is_usable),
        cmocka_unit_test(test_set_pool_size),
        cmocka_unit_test(test_try_create_null_entry),
    };
    return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
