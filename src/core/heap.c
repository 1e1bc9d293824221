/*
 * heap.c - the life of thread heaps: process start-up, the registry of
 * heaps, creating or adopting a thread's heap on its first call,
 * abandoning it at thread exit, periodic maintenance (purging, draining
 * abandoned heaps), trimming every heap on request, the fork handlers,
 * and the heap-wide check.
 */
#include "core/heap.h"

#include <pthread.h>

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "base/stats.h"
#include "core/huge.h"
#include "core/purger.h"
#include "core/remote.h"
#include "core/slab.h"
#include "core/span.h"

hmm_heap hmm_heap_empty = {.fast = {[0 ... HMM_NFAST - 1] = &hmm_span_empty},
                           .cur = {[0 ... HMM_NCLASS - 1] = &hmm_span_empty},
                           .countdown = INT64_MAX};
__thread hmm_heap *hmm_tls_heap __attribute__((tls_model("initial-exec"))) = &hmm_heap_empty;
__thread hmm_heap *hmm_tls_thread_heap __attribute__((tls_model("initial-exec"))) = &hmm_heap_empty;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
bool hmm_heap_ready;
static bool atfork_registered;
static pthread_key_t exit_key;

/* The registry: every heap ever made (heaps are never unmapped, so a
 * pointer to one stays valid), and the stack of abandoned ones. */
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_list all_heaps = {&all_heaps, &all_heaps};
static hmm_heap *abandoned;
static char *heap_store, *heap_store_end;
/* Heaps owned by live threads: the purger ends when it falls to 0. */
static int active_heaps;

static void thread_exit(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

bool hmm_heap_setup(void)
{
    pthread_mutex_lock(&init_lock);
    if (!hmm_heap_ready) {
        hmm_options_init();
        if (pthread_key_create(&exit_key, thread_exit) != 0) {
            pthread_mutex_unlock(&init_lock);
            return false;
        }
        hmm_random_init();
        /* The features set the hooks now, before the first allocation is
         * served. */
        hmm_hooks_setup();
        __atomic_store_n(&hmm_heap_ready, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    /* Outside the lock: registering may itself call malloc. */
    if (!__atomic_exchange_n(&atfork_registered, true, __ATOMIC_ACQ_REL))
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    return true;
}

void hmm_heap_use_fast_path(hmm_heap *h)
{
    if (h != &hmm_heap_empty)
        hmm_tls_heap = hmm_hooks.on & HMM_HOOKS_EVERY_CALL ? &hmm_heap_empty : h;
}

static hmm_heap *heap_new(void)
{
    size_t sz = hmm_align_up(sizeof(hmm_heap), 64);
    if ((size_t)(heap_store_end - heap_store) < sz) {
        size_t block = 64 * 1024;
        heap_store = hmm_os_map_aligned(block, HMM_PAGE_SIZE);
        if (!heap_store)
            return NULL;
        heap_store_end = heap_store + block;
        hmm_stat_mapped((int64_t)block);
    }
    hmm_heap *h = (hmm_heap *)heap_store;
    heap_store += sz;
    for (unsigned i = 0; i < HMM_NFAST; i++)
        h->fast[i] = &hmm_span_empty;
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        h->cur[c] = &hmm_span_empty;
        hmm_list_init(&h->partial[c]);
        hmm_list_init(&h->spare[c]);
    }
    for (unsigned b = 0; b < HMM_NBINS; b++)
        hmm_list_init(&h->bins[b]);
    hmm_list_init(&h->chunks);
    h->countdown = INT64_MAX;
    if (hmm_hooks.sample)
        (void)hmm_hooks.sample(&h->countdown);
    pthread_mutex_init(&h->lock, NULL);
    hmm_list_push_back(&all_heaps, &h->all);
    hmm_stat_add(&hmm_gstats.heaps, 1);
    return h;
}

hmm_heap *hmm_heap_attach(void)
{
    if (!hmm_heap_init())
        return NULL;
    /* The stack's top is the heap abandoned last, whose free pages are the
     * likeliest to be still resident (thread exit leaves them to the purge
     * delay). */
    pthread_mutex_lock(&heaps_lock);
    hmm_heap *h = abandoned;
    bool adopted = h != NULL;
    if (adopted) {
        abandoned = h->next_abandoned;
    } else {
        h = heap_new();
        if (h)
            h->state = HMM_HEAP_ACTIVE;
    }
    pthread_mutex_unlock(&heaps_lock);
    if (!h)
        return NULL;
    if (adopted) {
        hmm_stat_add(&hmm_gstats.heaps_reused, 1);
        /* Off the stack, the heap is ours once a thread draining it (see
         * hmm_remote_reclaim) lets go; waiting for that outside the lock
         * keeps other threads' starts and exits from waiting too.  The
         * drain may purge (system calls), and its thread may be off the
         * processor: the wait yields rather than spin out its slice. */
        int expect = HMM_HEAP_ABANDONED;
        while (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_ACTIVE, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            expect = HMM_HEAP_ABANDONED;
            hmm_os_yield();
        }
    }
    __atomic_add_fetch(&active_heaps, 1, __ATOMIC_SEQ_CST);
    hmm_tls_thread_heap = h;
    hmm_heap_use_fast_path(h);
    /* After the TLS store: pthread_setspecific may allocate, and so may
     * the hook. */
    pthread_setspecific(exit_key, h);
    if (hmm_hooks.thread_start)
        hmm_hooks.thread_start();
    return h;
}

/* Drains heaps whose threads exited, and purges their idle pages.  Walks
 * the registry rather than the abandoned stack, so the registry lock is
 * held a step at a time, never across a purge: threads starting or
 * exiting meanwhile do not wait. */
static void reclaim_abandoned(const char *func)
{
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h))
        if (__atomic_load_n(&h->state, __ATOMIC_RELAXED) == HMM_HEAP_ABANDONED)
            hmm_remote_reclaim(h, HMM_PURGE_IDLE, 0, func);
}

void hmm_heap_maintain(hmm_heap *h, const char *func)
{
    uint64_t now = hmm_os_now_ms();
    /* Spares go back to the spans before a pass, so that a heap that
     * stops allocating keeps none for longer than two passes. */
    if (hmm_span_purge_due(h, now)) {
        hmm_slab_release_spares(h);
        hmm_span_purge_if_due(h, now);
    }
    if (hmm_unlikely(hmm_hooks.tick != NULL))
        hmm_hooks.tick(now);
    if (now < h->next_reclaim)
        return;
    /* Memory no live heap's own passes would reach: the huge cache, and
     * heaps whose threads exited. */
    h->next_reclaim = now + hmm_opt.purge_delay / 2 + 1;
    hmm_huge_trim(now, false);
    reclaim_abandoned(func);
}

hmm_heap *hmm_heap_next(hmm_heap *h)
{
    /* Heaps are only ever appended: under the lock, the link is whole. */
    pthread_mutex_lock(&heaps_lock);
    hmm_list *l = h ? h->all.next : all_heaps.next;
    pthread_mutex_unlock(&heaps_lock);
    return l == &all_heaps ? NULL : hmm_container_of(l, hmm_heap, all);
}

/* Returns h's free memory to its spans (its outbox sent, remote frees
 * taken back, its spare slabs released, and with retire its current slabs
 * let go, so empty ones are released too), then to the kernel as how and
 * keep say.  Only h's owner may call this. */
static size_t heap_give_back(hmm_heap *h, bool retire, enum hmm_purge how, size_t keep,
                             const char *func)
{
    hmm_catch_up(h, func);
    if (retire)
        hmm_slab_retire_all(h);
    hmm_slab_release_spares(h);
    return hmm_span_purge(h, how, keep);
}

size_t hmm_heap_trim(size_t pad, enum hmm_purge how, const char *func)
{
    /* The thread's own heap, not the fast paths' (hmm_heap_empty in
     * secure and leaks mode). */
    hmm_heap *self = hmm_tls_thread_heap;
    uint64_t request = (uint64_t)pad + (pad < UINT64_MAX);
    size_t released = 0;
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h)) {
        if (h == self)
            continue;
        /* Only the owner may touch a live heap's pages (no lock guards
         * them): it trims at its next purge check.  An abandoned heap is
         * ours while its state word says DRAINING; one another thread holds
         * is skipped. */
        __atomic_store_n(&h->trim_request, request, __ATOMIC_RELAXED);
        if (__atomic_load_n(&h->state, __ATOMIC_RELAXED) == HMM_HEAP_ABANDONED)
            released += hmm_remote_reclaim(h, how, pad, func);
    }
    if (self != &hmm_heap_empty)
        /* Current slabs are let go only when memory ran out: otherwise the
         * next small allocation would have to take them back. */
        released += heap_give_back(self, how == HMM_PURGE_ALL, how, pad, func);
    return released + hmm_huge_trim(hmm_os_now_ms(), true);
}

/* ---- thread exit and fork ---- */

static void thread_exit(void *arg)
{
    hmm_heap *h = arg;
    if (hmm_hooks.thread_exit)
        hmm_hooks.thread_exit(h);
    /* The heap goes to the next thread that starts, often at once: its
     * free pages stay for it, warm, unless idle for the purge delay
     * already (purging them all made every new thread fault them in
     * again, 15-18 us a page).  Should no thread come, the live heaps'
     * maintenance purges them as they age (hmm_remote_reclaim).  Named
     * after the call that runs this destructor, even when the thread
     * returned from its start routine. */
    heap_give_back(h, true, HMM_PURGE_IDLE, 0, "pthread_exit");
    pthread_mutex_lock(&heaps_lock);
    h->state = HMM_HEAP_ABANDONED;
    h->next_abandoned = abandoned;
    abandoned = h;
    pthread_mutex_unlock(&heaps_lock);
    hmm_tls_heap = hmm_tls_thread_heap = &hmm_heap_empty;
    /* A process whose main thread called pthread_exit ends with its last
     * thread: the purger must not outlive them (hmm_heap_active). */
    if (__atomic_sub_fetch(&active_heaps, 1, __ATOMIC_SEQ_CST) == 0)
        hmm_purger_kick();
}

bool hmm_heap_active(void) { return __atomic_load_n(&active_heaps, __ATOMIC_SEQ_CST) > 0; }

/* Every heap's chunk lock too: a child must find no chunk list half
 * updated, and no lock held by a thread it does not have. */
static void fork_prepare(void)
{
    hmm_purger_fork_prepare();
    /* The features first: a thread taking a stack may allocate (and take
     * heaps_lock) before it lets go of the capture lock. */
    if (hmm_hooks.fork)
        hmm_hooks.fork(HMM_FORK_PREPARE);
    pthread_mutex_lock(&heaps_lock);
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next)
        pthread_mutex_lock(&hmm_container_of(l, hmm_heap, all)->lock);
    hmm_huge_lock_all();
}

static void fork_parent(void)
{
    hmm_huge_unlock_all(false);
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next)
        pthread_mutex_unlock(&hmm_container_of(l, hmm_heap, all)->lock);
    pthread_mutex_unlock(&heaps_lock);
    if (hmm_hooks.fork)
        hmm_hooks.fork(HMM_FORK_PARENT);
    hmm_purger_fork_parent();
}

static void fork_child(void)
{
    hmm_huge_unlock_all(true);
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next)
        pthread_mutex_init(&hmm_container_of(l, hmm_heap, all)->lock, NULL);
    pthread_mutex_init(&heaps_lock, NULL);
    if (hmm_hooks.fork)
        hmm_hooks.fork(HMM_FORK_CHILD);
    /* Threads other than this one are gone, maybe in the middle of using
     * (or draining) their heaps: that memory stays theirs, never adopted. */
    abandoned = NULL;
    active_heaps = hmm_tls_thread_heap != &hmm_heap_empty;
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next) {
        hmm_heap *h = hmm_container_of(l, hmm_heap, all);
        if (h == hmm_tls_thread_heap)
            continue;
        if (h->state == HMM_HEAP_ABANDONED) {
            h->next_abandoned = abandoned;
            abandoned = h;
        } else {
            h->state = HMM_HEAP_DEAD;
        }
    }
    hmm_purger_fork_child();
}

int hmm_check_heap(void)
{
    hmm_heap *h = hmm_tls_thread_heap;
    if (h == &hmm_heap_empty)
        return 0;
    hmm_remote_drain(h, "hmm_check_heap");
    hmm_span_check(h);
    hmm_slab_check_all(h);
    return 0;
}
