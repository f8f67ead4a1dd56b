/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the analysis tools see of the library. A switch is real pthread
 * synchronisation that every tool follows; everything else the library
 * does to keep its books must order nothing, and where the tools cannot
 * follow an edge that stack switching has (a resume from another thread,
 * through a C11 atomic), they are told about it here. Outside valgrind and
 * ThreadSanitizer each call below costs a few instructions.
 */
#include "config.h"

#include <sched.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif
#ifdef HAVE_VALGRIND_HELGRIND_H
/* DRD follows helgrind's requests used here, so one header serves both
 * (drd.h's macros of the same names cannot be included beside it). */
#include <valgrind/helgrind.h>
#endif

#include "coroutine-int.h"

/*
 * ThreadSanitizer's annotation calls, resolved at load time when its
 * runtime is in the process: an instrumented application sees the
 * library's pthread calls through TSan's interceptors even when the
 * library itself is not instrumented.
 */
#ifdef __GNUC__
#define CO_TSAN_HOOKS 1
void AnnotateIgnoreSyncBegin(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreSyncEnd(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreReadsBegin(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreReadsEnd(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreWritesBegin(const char *file, int line) __attribute__((weak));
void AnnotateIgnoreWritesEnd(const char *file, int line) __attribute__((weak));
void AnnotateHappensBefore(const char *file, int line, const volatile void *obj)
    __attribute__((weak));
void __tsan_mutex_pre_lock(void *addr, unsigned flags) __attribute__((weak));
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion)
    __attribute__((weak));
int __tsan_mutex_pre_unlock(void *addr, unsigned flags) __attribute__((weak));
void __tsan_mutex_post_unlock(void *addr, unsigned flags) __attribute__((weak));
/* The flag of <sanitizer/tsan_interface.h> for a shared (read) lock. */
#define CO_TSAN_MUTEX_READ_LOCK (1u << 3)
#define CO_TSAN_MUTEX_TRY_LOCK (1u << 4)
void AnnotateHappensAfter(const char *file, int line, const volatile void *obj)
    __attribute__((weak));
#endif

bool co_under_valgrind(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

bool co_under_helgrind_or_drd(void)
{
#if defined(HAVE_VALGRIND_VALGRIND_H) && defined(HAVE_VALGRIND_HELGRIND_H)
    /* Each tool answers a request of its own; the others return the
     * default (helgrind counts the one addressable byte). DRD's request number is that of its public header, drd.h,
     * which cannot be included beside helgrind.h. */
    static char probe;
    char abits;

    if (!RUNNING_ON_VALGRIND) {
        return false;
    }
    if (VALGRIND_HG_GET_ABITS(&probe, &abits, 1) == 1) {
        return true;
    }
    return VALGRIND_DO_CLIENT_REQUEST_EXPR(0, VG_USERREQ_TOOL_BASE('D', 'R'),
                                           0, 0, 0, 0, 0) != 0;
#else
    return false;
#endif
}

bool co_under_tsan(void)
{
#ifdef CO_TSAN_HOOKS
    return AnnotateIgnoreSyncBegin != NULL;
#else
    return false;
#endif
}

bool co_under_analysis(void)
{
    return co_under_valgrind() || co_under_tsan();
}

void co_unchecked(const void *addr, size_t len)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    VALGRIND_HG_DISABLE_CHECKING(addr, len);
#else
    (void)addr;
    (void)len;
#endif
}

/* ThreadSanitizer gets the annotation too: when the library is not
 * instrumented, its atomics are invisible to TSan. */
void co_happens_before(const void *obj)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    ANNOTATE_HAPPENS_BEFORE(obj);
#endif
#ifdef CO_TSAN_HOOKS
    if (AnnotateHappensBefore != NULL) {
        AnnotateHappensBefore(__FILE__, __LINE__, obj);
    }
#endif
    (void)obj;
}

void co_happens_after(const void *obj)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    ANNOTATE_HAPPENS_AFTER(obj);
#endif
#ifdef CO_TSAN_HOOKS
    if (AnnotateHappensAfter != NULL) {
        AnnotateHappensAfter(__FILE__, __LINE__, obj);
    }
#endif
    (void)obj;
}

void co_happens_forget(const void *obj)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    ANNOTATE_HAPPENS_BEFORE_FORGET_ALL(obj);
#else
    (void)obj;
#endif
}

void co_unseen_begin(void)
{
#ifdef CO_TSAN_HOOKS
    if (AnnotateIgnoreReadsBegin != NULL) {
        AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
        AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
    }
#endif
}

void co_unseen_end(void)
{
#ifdef CO_TSAN_HOOKS
    if (AnnotateIgnoreReadsBegin != NULL) {
        AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
        AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
    }
#endif
}

/* Unseen, and ordering nothing either. */
static void tsan_blind_begin(void)
{
#ifdef CO_TSAN_HOOKS
    if (AnnotateIgnoreSyncBegin != NULL) {
        AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    }
#endif
    co_unseen_begin();
}

static void tsan_blind_end(void)
{
    co_unseen_end();
#ifdef CO_TSAN_HOOKS
    if (AnnotateIgnoreSyncBegin != NULL) {
        AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
    }
#endif
}

/* Enough to cover a holder that is running on another CPU; past that it
 * has most likely been preempted, and spinning on only delays it. */
#define CO_SPINS_BEFORE_YIELD 100

void co_quiet_lock(struct cothread_lock_word *lock)
{
    unsigned spins = 0;

    co_unchecked(lock, sizeof(*lock));
    tsan_blind_begin();
    while (atomic_exchange_explicit(&lock->held_, 1, memory_order_acquire) != 0) {
        while (atomic_load_explicit(&lock->held_, memory_order_relaxed) != 0) {
            if (++spins >= CO_SPINS_BEFORE_YIELD) {
                sched_yield();
            }
        }
    }
}

void co_quiet_unlock(struct cothread_lock_word *lock)
{
    atomic_store_explicit(&lock->held_, 0, memory_order_release);
    tsan_blind_end();
}

/*
 * A coroutine lock is held by a coroutine, and a coroutine is a thread for
 * its whole life: the tools can check it as they check a pthread lock
 * (lock order, what it protects), which no stack-switching library can
 * offer. Both calls come outside the lock's quiet lock, with the lock ours
 * (acquired) or still ours (released).
 */
static void lock_acquired(void *lock, bool write, bool may_wait)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    ANNOTATE_RWLOCK_ACQUIRED(lock, write);
#endif
#ifdef CO_TSAN_HOOKS
    if (__tsan_mutex_pre_lock != NULL) {
        /* An acquisition that cannot wait cannot deadlock: ThreadSanitizer
         * records no lock order for a try-lock. */
        unsigned flags = (write ? 0 : CO_TSAN_MUTEX_READ_LOCK) |
                         (may_wait ? 0 : CO_TSAN_MUTEX_TRY_LOCK);
        __tsan_mutex_pre_lock(lock, flags);
        __tsan_mutex_post_lock(lock, flags, 0);
    }
#endif
    (void)lock;
    (void)write;
    (void)may_wait;
}

void co_lock_acquired(void *lock, bool write)
{
    lock_acquired(lock, write, true);
}

/* helgrind has no such flag: it records an order from every lock held to
 * this one (which qemu_co_rwlock_downgrade() takes care of). */
void co_lock_kept(void *lock, bool write)
{
    lock_acquired(lock, write, false);
}

void co_lock_released(void *lock, bool write)
{
#ifdef HAVE_VALGRIND_HELGRIND_H
    ANNOTATE_RWLOCK_RELEASED(lock, write);
#endif
#ifdef CO_TSAN_HOOKS
    if (__tsan_mutex_pre_unlock != NULL) {
        unsigned flags = write ? 0 : CO_TSAN_MUTEX_READ_LOCK;
        (void)__tsan_mutex_pre_unlock(lock, flags);
        __tsan_mutex_post_unlock(lock, flags);
    }
#endif
    (void)lock;
    (void)write;
}
