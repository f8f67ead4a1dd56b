/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CoRwlock: readers share, writers exclude, and the line is fair: a
 * waiting writer holds back readers that come after it, a downgrade lets
 * the readers at the front in, an upgrade waits behind a writer already in
 * line. Misuse stops with a message.
 */
#include "config.h"

#include <string.h>

#include "harness.h"

#define END NULL

static CoRwlock lock;

/* What a coroutine does; its id is logged when it has the lock (negated
 * when it lets go). */
enum step { READ, WRITE, UPGRADE, DOWNGRADE, UNLOCK, YIELD };

struct script {
    int id;
    enum step steps[6];
    int n;
};

static void coroutine_fn play(void *opaque)
{
    struct script *s = opaque;

    for (int i = 0; i < s->n; i++) {
        switch (s->steps[i]) {
        case READ:
            qemu_co_rwlock_rdlock(&lock);
            log_event(s->id);
            break;
        case WRITE:
            qemu_co_rwlock_wrlock(&lock);
            log_event(10 * s->id);
            break;
        case UPGRADE:
            qemu_co_rwlock_upgrade(&lock);
            log_event(10 * s->id);
            break;
        case DOWNGRADE:
            qemu_co_rwlock_downgrade(&lock);
            log_event(s->id);
            break;
        case UNLOCK:
            log_event(-s->id);
            qemu_co_rwlock_unlock(&lock);
            break;
        case YIELD:
            qemu_coroutine_yield();
            break;
        }
    }
}

static Coroutine *start(struct script *s)
{
    Coroutine *co = qemu_coroutine_create(play);

    qemu_coroutine_enter(co, s);
    return co;
}

static void test_readers_share(void **state)
{
    struct script r[3] = {
        { 1, { READ, YIELD, UNLOCK }, 3 },
        { 2, { READ, YIELD, UNLOCK }, 3 },
        { 3, { READ, YIELD, UNLOCK }, 3 },
    };
    Coroutine *co[3];
    static const int expected[] = { 1, 2, 3, -1, -2, -3 };

    qemu_co_rwlock_init(&lock);
    log_reset();
    for (int i = 0; i < 3; i++) {
        co[i] = start(&r[i]);
    }
    for (int i = 0; i < 3; i++) {
        qemu_coroutine_enter(co[i], NULL);
    }
    assert_log(expected, 6);
}

/* R1 reads; W waits; R2 comes after W and waits behind it although the
 * lock is only read-held. R1's unlock lets W in, W's lets R2 in. */
static void test_waiting_writer_holds_back_readers(void **state)
{
    struct script r1 = { 1, { READ, YIELD, UNLOCK }, 3 };
    struct script w = { 2, { WRITE, UNLOCK }, 2 };
    struct script r2 = { 3, { READ, UNLOCK }, 2 };
    static const int expected[] = { 1, -1, 20, -2, 3, -3 };
    Coroutine *c1;

    log_reset();
    c1 = start(&r1);
    start(&w);
    start(&r2);
    assert_int_equal(log_length(), 1);
    qemu_coroutine_enter(c1, NULL);
    assert_log(expected, 6);
}

/* W writes; R1 and R2 line up; W downgrades: both readers get in beside
 * it (running after W yields), while a writer behind them still waits. */
static void test_downgrade_lets_readers_in(void **state)
{
    struct script w = { 1, { WRITE, YIELD, DOWNGRADE, YIELD, UNLOCK }, 5 };
    struct script r1 = { 2, { READ, UNLOCK }, 2 };
    struct script r2 = { 3, { READ, UNLOCK }, 2 };
    struct script w2 = { 4, { WRITE, UNLOCK }, 2 };
    static const int expected[] = { 10, 1, 2, -2, 3, -3, -1, 40, -4 };
    Coroutine *cw;

    log_reset();
    cw = start(&w);
    start(&r1);
    start(&r2);
    start(&w2);
    qemu_coroutine_enter(cw, NULL);     /* downgrade, yield: readers run */
    assert_int_equal(log_length(), 6);
    qemu_coroutine_enter(cw, NULL);     /* last reader out: w2 runs */
    assert_log(expected, 9);
}

/* R1 and R2 read; W lines up; R1 upgrades: it gives up its read lock and
 * waits behind W. When R2 leaves, W goes first, then R1 as a writer. */
static void test_upgrade_waits_behind_writer(void **state)
{
    struct script r1 = { 1, { READ, YIELD, UPGRADE, UNLOCK }, 4 };
    struct script r2 = { 2, { READ, YIELD, UNLOCK }, 3 };
    struct script w = { 3, { WRITE, UNLOCK }, 2 };
    static const int expected[] = { 1, 2, -2, 30, -3, 10, -1 };
    Coroutine *c1, *c2;

    log_reset();
    c1 = start(&r1);
    c2 = start(&r2);
    start(&w);
    qemu_coroutine_enter(c1, NULL);     /* upgrade: waits */
    assert_int_equal(log_length(), 2);
    qemu_coroutine_enter(c2, NULL);
    assert_log(expected, 7);
}

/* Alone, an upgrade does not wait. */
static void test_upgrade_alone(void **state)
{
    struct script r = { 1, { READ, UPGRADE, DOWNGRADE, UNLOCK }, 4 };
    static const int expected[] = { 1, 10, 1, -1 };

    log_reset();
    start(&r);
    assert_log(expected, 4);
}

/* Misuse */

static void coroutine_fn unlock_unheld(void *opaque)
{
    qemu_co_rwlock_unlock(&lock);
}

static int child_unlock_unheld(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(unlock_unheld), NULL);
    return 0;
}

static void coroutine_fn read_and_return(void *opaque)
{
    qemu_co_rwlock_rdlock(&lock);
}

static int child_finish_holding(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(read_and_return), NULL);
    return 0;
}

static int child_rdlock_outside(void *arg)
{
    qemu_co_rwlock_rdlock(&lock);
    return 0;
}

static int child_wrlock_outside(void *arg)
{
    qemu_co_rwlock_wrlock(&lock);
    return 0;
}

static void coroutine_fn downgrade_reader(void *opaque)
{
    qemu_co_rwlock_rdlock(&lock);
    qemu_co_rwlock_downgrade(&lock);
}

static int child_downgrade_reader(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(downgrade_reader), NULL);
    return 0;
}

static void coroutine_fn upgrade_writer(void *opaque)
{
    qemu_co_rwlock_wrlock(&lock);
    qemu_co_rwlock_upgrade(&lock);
}

static int child_upgrade_writer(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(upgrade_writer), NULL);
    return 0;
}

static void coroutine_fn read_twice(void *opaque)
{
    qemu_co_rwlock_rdlock(&lock);
    qemu_co_rwlock_rdlock(&lock);
}

static int child_read_twice(void *arg)
{
    qemu_coroutine_enter(qemu_coroutine_create(read_twice), NULL);
    return 0;
}

static void coroutine_fn read_and_yield(void *opaque)
{
    qemu_co_rwlock_rdlock(opaque);
    qemu_coroutine_yield();
}

static void coroutine_fn hold_other_unlock_this(void *opaque)
{
    static CoRwlock other;

    qemu_co_rwlock_rdlock(&other);
    qemu_co_rwlock_unlock(opaque);      /* read-held, but by someone else */
}

/* A stranger unlocking a lock that others read-hold, while it holds a
 * CoRwlock of its own: the lock's reader count alone would not tell. */
static int child_unlock_others_read_lock(void *arg)
{
    static CoRwlock shared;

    qemu_coroutine_enter(qemu_coroutine_create(read_and_yield), &shared);
    qemu_coroutine_enter(qemu_coroutine_create(hold_other_unlock_this), &shared);
    return 0;
}

static void test_misuse(void **state)
{
    assert_child_aborts(child_read_twice, NULL, "cothread: qemu_co_rwlock_rdlock:",
                        "CoRwlock already held by the calling coroutine", END);
    assert_child_aborts(child_unlock_others_read_lock, NULL,
                        "cothread: qemu_co_rwlock_unlock:",
                        "CoRwlock is not held by the calling coroutine", END);
    assert_child_aborts(child_unlock_unheld, NULL, "cothread: qemu_co_rwlock_unlock:",
                        "CoRwlock is not held by the calling coroutine", END);
    assert_child_aborts(child_finish_holding, NULL, "cothread: coroutine return:",
                        "coroutine finished while holding a CoRwlock", END);
    assert_child_aborts(child_rdlock_outside, NULL, "cothread: qemu_co_rwlock_rdlock:",
                        "called outside a coroutine", END);
    assert_child_aborts(child_wrlock_outside, NULL, "cothread: qemu_co_rwlock_wrlock:",
                        "called outside a coroutine", END);
    assert_child_aborts(child_downgrade_reader, NULL, "cothread: qemu_co_rwlock_downgrade:",
                        "CoRwlock is held for reading, not writing", END);
    assert_child_aborts(child_upgrade_writer, NULL, "cothread: qemu_co_rwlock_upgrade:",
                        "CoRwlock is held for writing already", END);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* Death tests first: their children create threads, which
         * qemu-user cannot do after a fork while other threads live. */
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_readers_share),
        cmocka_unit_test(test_waiting_writer_holds_back_readers),
        cmocka_unit_test(test_downgrade_lets_readers_in),
        cmocka_unit_test(test_upgrade_waits_behind_writer),
        cmocka_unit_test(test_upgrade_alone),
    };
    return cmocka_run_group_tests_name("corwlock", tests, NULL, NULL);
}
