/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qemu-coroutine.h - QEMU's coroutine API, implemented on POSIX threads.
 *
 * This file is part of cothread. The declarations keep the names and the
 * signatures of QEMU's 2011 coroutine interface, so code written for it
 * builds against cothread unchanged; the documentation is cothread's own.
 *
 * The model
 * ---------
 * A coroutine is a function that can stop in the middle (yield) and be
 * continued later (entered again) from where it stopped. cothread runs each
 * coroutine on a POSIX thread of its own and passes control between threads
 * with a mutex and a condition variable, so that of a caller and the
 * coroutines it entered exactly one runs at any time. The handoffs are real
 * pthread synchronisation: valgrind (memcheck, helgrind, DRD),
 * ThreadSanitizer and gdb see every coroutine as a thread and every switch
 * as an ordering edge.
 *
 * cothread orders threads exactly where stack switching would, and nowhere
 * else: an enter orders what the enterer did before it with what the
 * coroutine does next; a yield or a finish orders what the coroutine did
 * with what its enterer does next; entering a suspended coroutine from
 * another thread orders that thread after the coroutine's last yield.
 * Creating, finishing, the thread pool and the settings order nothing, so
 * a race between two threads is reported as it would be without cothread.
 *
 * Each OS thread that is not a coroutine thread has a "leader": the object
 * qemu_coroutine_self() returns outside any coroutine. Coroutines entered
 * from that thread return control to it.
 *
 * What follows control
 * --------------------
 * errno travels with every switch: a coroutine starts with its enterer's
 * errno and the enterer sees the coroutine's errno when enter returns, as if
 * both ran on one thread. Other thread state does not travel: thread-local
 * variables, pthread_self(), the signal mask and the ownership of mutexes
 * belong to the coroutine's own thread. Coroutine threads block every
 * asynchronous signal, so handlers run on application threads.
 *
 * Misuse
 * ------
 * Misuse that cothread can detect (entering a running coroutine, entering a
 * leader, yielding outside a coroutine, two threads entering the same
 * coroutine at once, switching in a child forked inside a coroutine, NULL
 * arguments, pthread_exit() or cancellation inside a coroutine) prints one
 * line naming the call and the problem on stderr and calls abort(). Using a
 * handle after its coroutine finished is undefined.
 *
 * Process exit
 * ------------
 * When the process exits (return from main() or exit()), coroutines that are
 * suspended or were never entered are abandoned as they would be with stack
 * switching: the rest of their body never runs, no cleanup handler or
 * destructor of theirs runs, and cothread unwinds and joins their threads so
 * that no tool reports a leak (their objects stay allocated and reachable; a
 * later attempt to enter one stops with a message). Exit handlers that the
 * application registers with atexit() run before this cleanup and may still
 * enter coroutines. Unlike a stack, a thread keeps the process alive: a
 * program that ends main() with pthread_exit() must first finish its
 * coroutines and call cothread_set_pool_size(0).
 *
 * Cancellation
 * ------------
 * A switch is not a cancellation point: a thread cancelled while a coroutine
 * it entered runs is cancelled at its next cancellation point after
 * qemu_coroutine_enter() returns, as on one thread. pthread_exit() or
 * cancellation inside a coroutine body is misuse (see above).
 */
#ifndef QEMU_COROUTINE_H
#define QEMU_COROUTINE_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#define COTHREAD_API __attribute__((visibility("default")))
#else
#define COTHREAD_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Marks a function that may only be called from coroutine context (because
 * it may yield). It expands to nothing; it documents intent for readers and
 * for static checkers.
 */
#define coroutine_fn

/* An opaque coroutine handle. */
typedef struct Coroutine Coroutine;

/*
 * The body of a coroutine. It receives the opaque pointer of the first
 * qemu_coroutine_enter(). When it returns, the coroutine finishes: its
 * handle becomes invalid and control goes back to whoever entered it last.
 */
typedef void coroutine_fn CoroutineEntry(void *opaque);

/*
 * qemu_coroutine_create - make a coroutine that will run entry().
 *
 * Nothing runs yet: the coroutine starts at the first qemu_coroutine_enter().
 * Its thread comes from cothread's pool of idle threads or is created now,
 * with the stack size cothread_get_stack_size() reports.
 *
 * Returns a handle that stays valid until entry() returns.
 *
 * Misuse: a NULL entry aborts. When no thread can be created (thread or
 * memory limits), it aborts with a message that names the error and the
 * number of live coroutines; use cothread_try_create() to recover instead.
 *
 * Thread-safety: may be called from any thread, inside or outside a
 * coroutine. The coroutine may later be entered from any thread.
 */
COTHREAD_API Coroutine *qemu_coroutine_create(CoroutineEntry *entry);

/*
 * qemu_coroutine_enter - run a coroutine until it yields or finishes.
 *
 * The calling thread (or coroutine) waits while the coroutine runs. On the
 * first entry, opaque is passed to the entry function; later entries ignore
 * it. The coroutine's next qemu_coroutine_yield() returns here, so a
 * coroutine always yields to whoever entered it last, not to its creator.
 *
 * Returns when the coroutine yields or finishes. errno is the coroutine's
 * errno at that moment. Once the entry function has returned, the handle
 * must not be used again.
 *
 * Misuse (each aborts with a message): a NULL coroutine; a coroutine that
 * is running or waiting for a coroutine it entered (this includes a
 * coroutine entering itself or one of its callers); a thread's leader (the
 * value of qemu_coroutine_self() outside coroutines); a coroutine that
 * another thread is entering at the same time; a coroutine created before
 * fork() in the child; any switch in a child forked inside a coroutine.
 *
 * Thread-safety: a suspended coroutine may be entered from any thread, one
 * thread at a time; the thread that enters it is the one its next yield
 * returns to.
 */
COTHREAD_API void qemu_coroutine_enter(Coroutine *coroutine, void *opaque);

/*
 * qemu_coroutine_yield - suspend the current coroutine.
 *
 * Control goes back to whoever entered the coroutine last, whose
 * qemu_coroutine_enter() then returns. This call returns when the coroutine
 * is entered again, from any thread, with errno set to that enterer's errno.
 *
 * Misuse: calling it outside a coroutine aborts with a message.
 */
COTHREAD_API void coroutine_fn qemu_coroutine_yield(void);

/*
 * qemu_coroutine_self - the coroutine that is running now.
 *
 * Inside a coroutine, returns its handle. Outside, returns the calling
 * thread's leader: never NULL, the same object for the life of the thread,
 * different for each thread, and freed when the thread exits. A leader can
 * be compared and passed to qemu_coroutine_entered(), but never entered.
 *
 * Aborts with a message if the leader cannot be allocated, or if this is the
 * library's first use and COTHREAD_STACK_SIZE or COTHREAD_POOL_SIZE is
 * invalid (as every first use does).
 */
COTHREAD_API Coroutine *coroutine_fn qemu_coroutine_self(void);

/*
 * qemu_in_coroutine - whether the caller runs inside a coroutine.
 *
 * Returns true inside a coroutine body (and anything it calls), false on
 * application threads. Never allocates.
 */
COTHREAD_API bool qemu_in_coroutine(void);

/*
 * qemu_coroutine_entered - whether a coroutine is in the middle of a run.
 *
 * Returns true while the coroutine runs or waits for a coroutine it entered,
 * false after qemu_coroutine_create() and while it is suspended in
 * qemu_coroutine_yield(). A leader counts as entered: its thread is running.
 * The answer is exact only when the caller is ordered with the coroutine's
 * switches (for example, it is in the same chain of enters).
 */
COTHREAD_API bool qemu_coroutine_entered(Coroutine *co);

/*
 * cothread_try_create - qemu_coroutine_create() for callers that can cope
 * with failure.
 *
 * Returns the new coroutine, or NULL with errno set: EINVAL for a NULL
 * entry (or, from pthread_create(), a stack size too small for the thread's
 * own thread-local storage), EAGAIN when no thread can be created (thread or
 * address-space limits), ENOMEM when memory runs out.
 *
 * Thread-safety: as qemu_coroutine_create().
 */
COTHREAD_API Coroutine *cothread_try_create(CoroutineEntry *entry);

/*
 * cothread_set_stack_size - stack size of coroutine threads created from now
 * on, in bytes.
 *
 * The default is 1 MiB (256 KiB on WebAssembly, where every thread stack
 * is taken from the module's memory), or the value of the environment variable
 * COTHREAD_STACK_SIZE read at the first coroutine creation (bytes, with an
 * optional k, m or g suffix for KiB, MiB, GiB; an invalid value there stops
 * the program with a message). Sizes are rounded up to the page size. Idle
 * pooled threads of another size are discarded.
 *
 * Returns 0, or EINVAL (and changes nothing) when bytes is below
 * cothread_stack_size_min() or above 1 GiB.
 *
 * Thread-safety: may be called from any thread at any time.
 */
COTHREAD_API int cothread_set_stack_size(size_t bytes);

/* The stack size new coroutine threads get, in bytes. Thread-safe. */
COTHREAD_API size_t cothread_get_stack_size(void);

/* The smallest stack size cothread_set_stack_size() accepts. Thread-safe. */
COTHREAD_API size_t cothread_stack_size_min(void);

/*
 * cothread_set_pool_size - how many idle coroutine threads are kept for
 * reuse.
 *
 * When a coroutine finishes, its thread waits for the next coroutine instead
 * of exiting, up to this many idle threads. 0 turns the pool off: every
 * coroutine gets a fresh thread. The default is 64, 0 when running under
 * valgrind or in a process with ThreadSanitizer, or the value of the
 * environment variable COTHREAD_POOL_SIZE (a number from 0 to 65536) read
 * at the library's first use. Lowering it releases idle threads at once.
 *
 * Under the analysis tools keep the pool off: a reused thread runs its
 * coroutines one after the other, so helgrind, DRD and ThreadSanitizer see
 * everything a finished coroutine did as ordered before the next coroutine
 * on that thread, whichever application thread created it, and miss races
 * between the two.
 *
 * A reused thread starts each coroutine with the same signal mask, thread
 * name and errno handling as a fresh one; what it keeps is the application's
 * own thread-local state (for example _Thread_local variables).
 *
 * Returns 0, or EINVAL when n is above 65536.
 *
 * Thread-safety: may be called from any thread at any time.
 */
COTHREAD_API int cothread_set_pool_size(unsigned n);

/* The current cap on idle pooled threads. Thread-safe. */
COTHREAD_API unsigned cothread_get_pool_size(void);

#ifdef __cplusplus
}
#endif

#endif /* QEMU_COROUTINE_H */
