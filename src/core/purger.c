/*
 * purger.c - the background purger.  libhmm purges on its own slow paths,
 * so a program that frees most of its memory and then makes no call (a
 * server between requests) would keep it resident.  A detached thread,
 * started the first time a heap holds HMM_PURGER_MIN dirty free bytes or a
 * huge block is cached, makes the same idle passes the slow paths make,
 * every half purge delay while there is something to give back, and sleeps
 * until kicked when there is not.
 *
 * It touches only what other threads may: the huge cache (its lock), and
 * each heap's free spans under the heap's span lock (span.c), which the
 * owner takes on every span operation and the purger only tries: a busy
 * heap waits for the next pass, and an owner that wants its lock back
 * stops the pass after the span being purged.  Nothing keeps the process
 * alive for it: it is detached, never joined, and ends when no live thread
 * owns a heap (the last one may be a main thread that called pthread_exit,
 * and the process ends only with its last thread); a later kick starts a
 * new one, as in a fork child, which has none.
 */
#define _GNU_SOURCE
#include "core/purger.h"

#include <pthread.h>
#include <signal.h>

#include "core/heap.h"
#include "core/huge.h"
#include "base/options.h"
#include "base/os.h"
#include "core/span.h"

int hmm_purger_state;

/* wait_lock guards the sleep; pass_lock is held through a pass, so that
 * fork finds no heap's span lock held by the purger. */
static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t pass_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;

/* One pass; true when memory remains that a later pass may give back. */
static bool pass(void)
{
    bool more = false;
    hmm_huge_trim(hmm_os_now_ms(), false);
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h))
        if (__atomic_load_n(&h->state, __ATOMIC_RELAXED) != HMM_HEAP_DEAD)
            more |= hmm_span_purge_idle_from_afar(h);
    return more || hmm_huge_cached_bytes() > 0;
}

static void *run(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&wait_lock);
    for (;;) {
        /* A kick during a pass (or the sleep) sets AWAKE again; so does
         * the exit of the last thread owning a heap, unless it came before
         * this check. */
        while (__atomic_load_n(&hmm_purger_state, __ATOMIC_SEQ_CST) == HMM_PURGER_IDLE &&
               hmm_heap_active())
            pthread_cond_wait(&wake, &wait_lock);
        if (!hmm_heap_active())
            break;
        struct timespec until;
        hmm_os_deadline(&until, hmm_opt.purge_delay / 2 + 1);
        while (pthread_cond_timedwait(&wake, &wait_lock, &until) == 0)
            ;
        __atomic_store_n(&hmm_purger_state, HMM_PURGER_IDLE, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&wait_lock);
        pthread_mutex_lock(&pass_lock);
        bool more = pass();
        pthread_mutex_unlock(&pass_lock);
        pthread_mutex_lock(&wait_lock);
        if (more)
            __atomic_store_n(&hmm_purger_state, HMM_PURGER_AWAKE, __ATOMIC_SEQ_CST);
    }
    /* OFF under the lock: a kick from now on starts a new purger. */
    __atomic_store_n(&hmm_purger_state, HMM_PURGER_OFF, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&wait_lock);
    return NULL;
}

static void start_thread(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &ca);
    pthread_condattr_destroy(&ca);
    /* No signal of the program's may land on this thread. */
    pthread_attr_t attr;
    sigset_t all;
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_attr_setsigmask_np(&attr, &all);
    pthread_t t;
    /* AWAKE first: the thread's first wait must be a timed one. */
    __atomic_store_n(&hmm_purger_state, HMM_PURGER_AWAKE, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, &attr, run, NULL) != 0)
        __atomic_store_n(&hmm_purger_state, HMM_PURGER_DISABLED, __ATOMIC_SEQ_CST);
    pthread_attr_destroy(&attr);
}

void hmm_purger_kick_slow(void)
{
    int s = __atomic_load_n(&hmm_purger_state, __ATOMIC_SEQ_CST);
    if (s == HMM_PURGER_OFF) {
        /* Not for the last thread's exit (it would end at once).  One
         * thread starts it; a kick from the allocations pthread_create
         * makes finds STARTING and returns. */
        if (!hmm_heap_active())
            return;
        int next = hmm_opt.purge_thread ? HMM_PURGER_STARTING : HMM_PURGER_DISABLED;
        if (__atomic_compare_exchange_n(&hmm_purger_state, &s, next, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED) &&
            next == HMM_PURGER_STARTING)
            start_thread();
    } else if (s == HMM_PURGER_IDLE) {
        pthread_mutex_lock(&wait_lock);
        __atomic_store_n(&hmm_purger_state, HMM_PURGER_AWAKE, __ATOMIC_SEQ_CST);
        pthread_cond_signal(&wake);
        pthread_mutex_unlock(&wait_lock);
    }
}

void hmm_purger_fork_prepare(void) { pthread_mutex_lock(&pass_lock); }

void hmm_purger_fork_parent(void) { pthread_mutex_unlock(&pass_lock); }

void hmm_purger_fork_child(void)
{
    pthread_mutex_init(&pass_lock, NULL);
    pthread_mutex_init(&wait_lock, NULL);
    hmm_purger_state = HMM_PURGER_OFF;
}
