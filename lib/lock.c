/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CoQueue, CoMutex and CoRwlock: coroutines waiting in line for each
 * other. Each object keeps its line and its state behind a spinlock of its
 * own, and a waiter is run again by a wake-up (coroutine.c). Whoever hands
 * a lock over sets the new owner before waking it: the woken coroutine
 * finds the lock its own.
 *
 * The tools see none of the spinlock: what a CoMutex or a CoRwlock orders
 * they are told as a pthread lock's (co_lock_acquired() and
 * co_lock_released(): an unlock before the next acquisition), and a
 * wake-up orders the waker before the woken by the switch that runs it.
 * Waiting in a line, a query or a read lock orders nothing, as with
 * pthread locks, or races would hide behind the objects' bookkeeping.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coroutine-int.h"

/* A line of waiting coroutines, oldest first, linked by wait_next. */
static void line_append(Coroutine **head, Coroutine **tail, Coroutine *co)
{
    co_set_next(co, NULL);
    if (*tail != NULL) {
        co_set_next(*tail, co);
    } else {
        *head = co;
    }
    *tail = co;
    atomic_store_explicit(&co->wait_state, CO_WAIT_IN_LINE, memory_order_relaxed);
}

static Coroutine *line_pop(Coroutine **head, Coroutine **tail)
{
    Coroutine *co = *head;

    if (co != NULL) {
        *head = co_next(co);
        if (*head == NULL) {
            *tail = NULL;
        }
        co_set_next(co, NULL);
    }
    return co;
}

/* Wakes every coroutine of a list made by line_pop()s, linked by
 * wait_next, which co_wake() reuses. */
static void wake_list(Coroutine *list)
{
    while (list != NULL) {
        Coroutine *co = list;
        list = co_next(co);
        co_wake(co);
    }
}

/* The object's fields are the library's bookkeeping, touched by any
 * thread under the quiet lock. */
#define LOCK_OBJECT(obj) \
    (co_quiet_lock(&(obj)->lock_), co_unchecked((obj), sizeof(*(obj))))
#define UNLOCK_OBJECT(obj) co_quiet_unlock(&(obj)->lock_)

/* The address the tools know a CoMutex or CoRwlock by as a lock (the
 * object's own): a byte nothing writes. The spinlock word would not do:
 * ThreadSanitizer keeps a lock's edges where it keeps the word's, and
 * checks the lock's address against plain writes. */
#define TOOL_LOCK(obj) ((void *)&(obj)->tool_id_)

/* Suspends the caller, which is in a line, until a wake-up runs it. */
static void wait_in_line(void)
{
    qemu_coroutine_yield();
}

/*
 * Which locks a coroutine holds, in the order it took them. A CoRwlock's
 * readers are many and anonymous in the lock itself, so each coroutine
 * keeps its own list, to tell a holder from a stranger and to catch a
 * second lock of the same one; a coroutine stopped at exit has the tools
 * release what it holds; and a downgrade shows the tools the locks taken
 * after the downgraded one as taken after it again.
 */
static struct co_held_lock *held_entry(Coroutine *self, const void *object)
{
    for (unsigned i = 0; i < self->held_count; i++) {
        if (self->held[i].object == object) {
            return &self->held[i];
        }
    }
    return NULL;
}

/* The address the tools know a held lock by, computed without reading
 * the object, which may be gone when a coroutine is abandoned at exit. */
static void *held_tool_lock(const struct co_held_lock *h)
{
    return h->rwlock ? TOOL_LOCK((CoRwlock *)h->object) : TOOL_LOCK((CoMutex *)h->object);
}

/* Whether no other coroutine can hold it meanwhile. */
static bool held_alone(const struct co_held_lock *h)
{
    return h->write;
}

static void note_held(Coroutine *self, void *object, bool rwlock, bool write,
                      const char *fn)
{
    if (self->held_count == self->held_room) {
        unsigned room = self->held_room ? 2 * self->held_room : 4;
        struct co_held_lock *list = realloc(self->held, room * sizeof(*list));
        /* The lock calls return nothing (as in QEMU): stop, with the reason. */
        if (list == NULL) {
            co_die_failed(fn, rwlock ? "cannot note a held CoRwlock" : "cannot note a held CoMutex",
                          "realloc", ENOMEM);
        }
        self->held = list;
        self->held_room = room;
    }
    self->held[self->held_count++] = (struct co_held_lock){ object, rwlock, write };
}

static void note_released(Coroutine *self, const void *object)
{
    struct co_held_lock *h = held_entry(self, object);
    size_t after;

    assert(h != NULL);
    after = self->held_count - (size_t)(h - self->held) - 1;

    memmove(h, h + 1, after * sizeof(*h));
    self->held_count--;
}

/* CoQueue */

void qemu_co_queue_init(CoQueue *queue)
{
    CO_MISUSE_IF(queue == NULL, "qemu_co_queue_init", "NULL CoQueue");
    memset(queue, 0, sizeof(*queue));
}

void coroutine_fn cothread_co_queue_wait(CoQueue *queue, CoMutex *mutex)
{
    static const char fn[] = "qemu_co_queue_wait";
    Coroutine *self;

    CO_MISUSE_IF(queue == NULL, fn, "NULL CoQueue");
    self = co_self_in_coroutine(fn);
    if (mutex != NULL) {
        bool held;
        LOCK_OBJECT(mutex);
        held = mutex->holder_ == self;
        UNLOCK_OBJECT(mutex);
        CO_MISUSE_IF(!held, fn, "CoMutex is not held by the calling coroutine");
    }
    LOCK_OBJECT(queue);
    line_append(&queue->head_, &queue->tail_, self);
    UNLOCK_OBJECT(queue);
    /* Only now: a wake-up between the unlock and the wait is not lost, it
     * waits for us to get there. */
    if (mutex != NULL) {
        qemu_co_mutex_unlock(mutex);
    }
    wait_in_line();
    if (mutex != NULL) {
        qemu_co_mutex_lock(mutex);
    }
}

bool qemu_co_queue_next(CoQueue *queue)
{
    Coroutine *co;

    CO_MISUSE_IF(queue == NULL, "qemu_co_queue_next", "NULL CoQueue");
    LOCK_OBJECT(queue);
    co = line_pop(&queue->head_, &queue->tail_);
    UNLOCK_OBJECT(queue);
    if (co == NULL) {
        return false;
    }
    co_wake(co);
    return true;
}

void qemu_co_queue_restart_all(CoQueue *queue)
{
    Coroutine *list;

    CO_MISUSE_IF(queue == NULL, "qemu_co_queue_restart_all", "NULL CoQueue");
    /* Only those waiting now: a woken one that waits again (which outside
     * coroutines happens before this returns) stays in the queue. */
    LOCK_OBJECT(queue);
    list = queue->head_;
    queue->head_ = queue->tail_ = NULL;
    UNLOCK_OBJECT(queue);
    wake_list(list);
}

bool qemu_co_enter_next(CoQueue *queue)
{
    CO_MISUSE_IF(queue == NULL, "qemu_co_enter_next", "NULL CoQueue");
    return qemu_co_queue_next(queue);
}

bool qemu_co_queue_empty(CoQueue *queue)
{
    bool empty;

    CO_MISUSE_IF(queue == NULL, "qemu_co_queue_empty", "NULL CoQueue");
    LOCK_OBJECT(queue);
    empty = queue->head_ == NULL;
    UNLOCK_OBJECT(queue);
    return empty;
}

/* CoMutex */

void qemu_co_mutex_init(CoMutex *mutex)
{
    CO_MISUSE_IF(mutex == NULL, "qemu_co_mutex_init", "NULL CoMutex");
    memset(mutex, 0, sizeof(*mutex));
}

void coroutine_fn qemu_co_mutex_lock(CoMutex *mutex)
{
    static const char fn[] = "qemu_co_mutex_lock";
    Coroutine *self;
    bool taken = false;
    bool recursive;

    CO_MISUSE_IF(mutex == NULL, fn, "NULL CoMutex");
    self = co_self_in_coroutine(fn);
    LOCK_OBJECT(mutex);
    recursive = mutex->holder_ == self;
    if (!recursive) {
        if (mutex->holder_ == NULL) {
            mutex->holder_ = self;
            taken = true;
        } else {
            line_append(&mutex->head_, &mutex->tail_, self);
        }
    }
    UNLOCK_OBJECT(mutex);
    CO_MISUSE_IF(recursive, fn, "CoMutex already held by the calling coroutine "
                                "(it is not recursive: this would wait forever)");
    if (!taken) {
        wait_in_line();         /* the unlocker made us the holder */
    }
    note_held(self, mutex, false, true, fn);
    co_lock_acquired(TOOL_LOCK(mutex), true);
}

void coroutine_fn qemu_co_mutex_unlock(CoMutex *mutex)
{
    static const char fn[] = "qemu_co_mutex_unlock";
    Coroutine *self;
    Coroutine *next;
    bool held;

    CO_MISUSE_IF(mutex == NULL, fn, "NULL CoMutex");
    self = co_self_in_coroutine(fn);
    /* Only the holder changes a holder: checked, the lock is still ours
     * while the tools are told it is released, before anyone can take it. */
    LOCK_OBJECT(mutex);
    held = mutex->holder_ == self;
    UNLOCK_OBJECT(mutex);
    CO_MISUSE_IF(!held, fn, "CoMutex is not held by the calling coroutine");
    co_lock_released(TOOL_LOCK(mutex), true);
    note_released(self, mutex);

    LOCK_OBJECT(mutex);
    next = line_pop(&mutex->head_, &mutex->tail_);
    mutex->holder_ = next;
    UNLOCK_OBJECT(mutex);
    if (next != NULL) {
        co_wake(next);
    }
}

/* CoRwlock */

void qemu_co_rwlock_init(CoRwlock *lock)
{
    CO_MISUSE_IF(lock == NULL, "qemu_co_rwlock_init", "NULL CoRwlock");
    memset(lock, 0, sizeof(*lock));
}

/*
 * Gives the lock to the front of the line as far as it can go: a writer
 * once nobody holds the lock, or every reader up to the first writer while
 * no writer holds it. Returns the coroutines to wake.
 */
static Coroutine *rwlock_grant_locked(CoRwlock *lock)
{
    Coroutine *granted = NULL, *last = NULL;

    while (lock->head_ != NULL && lock->writer_ == NULL) {
        Coroutine *co = lock->head_;

        if (co->wait_write && lock->readers_ != 0) {
            break;
        }
        line_pop(&lock->head_, &lock->tail_);
        if (co->wait_write) {
            lock->writer_ = co;     /* and the loop ends */
        } else {
            lock->readers_++;
        }
        if (last != NULL) {
            co_set_next(last, co);
        } else {
            granted = co;
        }
        last = co;
    }
    return granted;
}

static void rwlock_take(CoRwlock *lock, bool write, const char *fn)
{
    Coroutine *self;
    bool taken = false;

    CO_MISUSE_IF(lock == NULL, fn, "NULL CoRwlock");
    self = co_self_in_coroutine(fn);
    CO_MISUSE_IF(held_entry(self, lock) != NULL, fn,
                 "CoRwlock already held by the calling coroutine (it is not "
                 "recursive: this may wait forever)");
    LOCK_OBJECT(lock);
    if (lock->writer_ == NULL && lock->head_ == NULL &&
        (!write || lock->readers_ == 0)) {
        if (write) {
            lock->writer_ = self;
        } else {
            lock->readers_++;
        }
        taken = true;
    } else {
        self->wait_write = write;
        line_append(&lock->head_, &lock->tail_, self);
    }
    UNLOCK_OBJECT(lock);
    if (!taken) {
        wait_in_line();         /* whoever woke us gave us the lock */
    }
    note_held(self, lock, true, write, fn);
    co_lock_acquired(TOOL_LOCK(lock), write);
}

void coroutine_fn qemu_co_rwlock_rdlock(CoRwlock *lock)
{
    rwlock_take(lock, false, "qemu_co_rwlock_rdlock");
}

void coroutine_fn qemu_co_rwlock_wrlock(CoRwlock *lock)
{
    rwlock_take(lock, true, "qemu_co_rwlock_wrlock");
}

/* Whether the caller holds lock for writing (else for reading); aborts if
 * it does not hold it. */
static bool rwlock_held_for_writing(CoRwlock *lock, Coroutine *self, const char *fn)
{
    struct co_held_lock *held = held_entry(self, lock);

    CO_MISUSE_IF(held == NULL, fn, "CoRwlock is not held by the calling coroutine");
    return held->write;
}

void coroutine_fn qemu_co_rwlock_unlock(CoRwlock *lock)
{
    static const char fn[] = "qemu_co_rwlock_unlock";
    Coroutine *self;
    bool writing;
    Coroutine *granted;

    CO_MISUSE_IF(lock == NULL, fn, "NULL CoRwlock");
    self = co_self_in_coroutine(fn);
    writing = rwlock_held_for_writing(lock, self, fn);
    co_lock_released(TOOL_LOCK(lock), writing);
    note_released(self, lock);
    LOCK_OBJECT(lock);
    if (writing) {
        lock->writer_ = NULL;
    } else {
        lock->readers_--;
    }
    granted = rwlock_grant_locked(lock);
    UNLOCK_OBJECT(lock);
    wake_list(granted);
}

void coroutine_fn qemu_co_rwlock_downgrade(CoRwlock *lock)
{
    static const char fn[] = "qemu_co_rwlock_downgrade";
    Coroutine *self;
    Coroutine *granted;
    unsigned at, from;

    CO_MISUSE_IF(lock == NULL, fn, "NULL CoRwlock");
    self = co_self_in_coroutine(fn);
    CO_MISUSE_IF(!rwlock_held_for_writing(lock, self, fn), fn,
                 "CoRwlock is held for reading, not writing");
    /*
     * The tools see the read side taken anew, before the lock is opened to
     * others: a reader let in first would otherwise seem to come before
     * this one. Taken while later locks are held, helgrind (which cannot
     * be told that it does not wait) would record an order from them to
     * this lock, the reverse of the one it saw. So the later locks are
     * released first in the tools' eyes and taken again after it, in their
     * order, as far as each is held alone (a CoMutex, a CoRwlock held for
     * writing): nobody can take one meanwhile, so no edge between threads
     * comes of it. A CoRwlock held for reading is shared, and other
     * readers' unlocks would order them before this thread; it stays, and
     * so do the locks before it, which taken again after it would invert
     * their order with it.
     */
    at = (unsigned)(held_entry(self, lock) - self->held);
    from = at + 1;
    for (unsigned i = at + 1; i < self->held_count; i++) {
        if (!held_alone(&self->held[i])) {
            from = i + 1;
        }
    }
    for (unsigned i = self->held_count; i-- > from;) {
        co_lock_released(held_tool_lock(&self->held[i]), true);
    }
    co_lock_released(TOOL_LOCK(lock), true);
    co_lock_kept(TOOL_LOCK(lock), false);
    for (unsigned i = from; i < self->held_count; i++) {
        co_lock_kept(held_tool_lock(&self->held[i]), true);
    }
    self->held[at].write = false;
    LOCK_OBJECT(lock);
    lock->writer_ = NULL;
    lock->readers_++;
    granted = rwlock_grant_locked(lock);
    UNLOCK_OBJECT(lock);
    wake_list(granted);
}

void coroutine_fn qemu_co_rwlock_upgrade(CoRwlock *lock)
{
    static const char fn[] = "qemu_co_rwlock_upgrade";
    Coroutine *self;
    Coroutine *granted = NULL;
    bool taken = false;

    CO_MISUSE_IF(lock == NULL, fn, "NULL CoRwlock");
    self = co_self_in_coroutine(fn);
    CO_MISUSE_IF(rwlock_held_for_writing(lock, self, fn), fn,
                 "CoRwlock is held for writing already");
    /* Released in the tools' eyes while it waits, so not held either if
     * the process ends meanwhile. */
    co_lock_released(TOOL_LOCK(lock), false);
    note_released(self, lock);
    LOCK_OBJECT(lock);
    lock->readers_--;
    if (lock->readers_ == 0 && lock->head_ == NULL) {
        lock->writer_ = self;
        taken = true;
    } else {
        /* Behind whoever is in line already, writers included. */
        self->wait_write = true;
        line_append(&lock->head_, &lock->tail_, self);
        granted = rwlock_grant_locked(lock);
    }
    UNLOCK_OBJECT(lock);
    wake_list(granted);
    if (!taken) {
        wait_in_line();
    }
    note_held(self, lock, true, true, fn);
    co_lock_acquired(TOOL_LOCK(lock), true);
}

/* Stack switching would abandon a coroutine that never resumes with its
 * locks held, and no tool would know. Here its thread leaves at exit: the
 * locks stay held (a waiter for one waits on), but the tools must not
 * report a thread leaving with them. The objects are not read: the
 * application may have let their memory go. */
static void locks_abandon(Coroutine *co)
{
    for (unsigned i = 0; i < co->held_count; i++) {
        co_lock_released(held_tool_lock(&co->held[i]), co->held[i].write);
    }
    co->held_count = 0;
}

__attribute__((constructor)) static void locks_load(void)
{
    co_workers_abandon_with(locks_abandon);
}
