/*
 * heap.c - the life of thread heaps: process start-up, the registry of
 * heaps, creating or adopting a thread's heap on its first call,
 * abandoning it at thread exit, periodic maintenance (purging, draining
 * abandoned heaps), the fork handlers, and the heap-wide checks and sums.
 */
#include "heap.h"

#include <pthread.h>

#include "diag.h"
#include "huge.h"
#include "options.h"
#include "os.h"
#include "remote.h"
#include "secure.h"
#include "slab.h"
#include "span.h"
#include "stats.h"

hmm_heap hmm_heap_empty = {.cur = {[0 ... HMM_NCLASS - 1] = &hmm_span_empty}};
__thread hmm_heap *hmm_tls_heap __attribute__((tls_model("initial-exec"))) = &hmm_heap_empty;
__thread hmm_heap *hmm_tls_thread_heap __attribute__((tls_model("initial-exec"))) = &hmm_heap_empty;
uintptr_t hmm_secret;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool init_done;
static bool atfork_registered;
static pthread_key_t exit_key;

/* The registry: every heap ever made (heaps are never unmapped, so a
 * pointer to one stays valid), and the stack of abandoned ones. */
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_list all_heaps = {&all_heaps, &all_heaps};
static hmm_heap *abandoned;
static char *heap_store, *heap_store_end;

static void thread_exit(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

bool hmm_heap_init(void)
{
    if (hmm_likely(__atomic_load_n(&init_done, __ATOMIC_ACQUIRE)))
        return true;
    pthread_mutex_lock(&init_lock);
    if (!init_done) {
        hmm_options_init();
        if (pthread_key_create(&exit_key, thread_exit) != 0) {
            pthread_mutex_unlock(&init_lock);
            return false;
        }
        hmm_secret = (uintptr_t)hmm_os_random();
        __atomic_store_n(&init_done, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    /* Outside the lock: registering may itself call malloc. */
    if (!__atomic_exchange_n(&atfork_registered, true, __ATOMIC_ACQ_REL))
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    return true;
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
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        h->cur[c] = &hmm_span_empty;
        hmm_list_init(&h->partial[c]);
    }
    for (unsigned b = 0; b < HMM_NBINS; b++)
        hmm_list_init(&h->bins[b]);
    hmm_list_init(&h->chunks);
    hmm_list_push_back(&all_heaps, &h->all);
    hmm_stat_add(&hmm_gstats.heaps, 1);
    return h;
}

hmm_heap *hmm_heap_get(void)
{
    hmm_heap *h = hmm_tls_thread_heap;
    if (hmm_likely(h != &hmm_heap_empty))
        return h;
    if (!hmm_heap_init())
        return NULL;
    pthread_mutex_lock(&heaps_lock);
    h = abandoned;
    if (h) {
        abandoned = h->next_abandoned;
        hmm_stat_add(&hmm_gstats.heaps_reused, 1);
        /* Wait out a thread that is draining it (see reclaim). */
        int expect = HMM_HEAP_ABANDONED;
        while (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_ACTIVE, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            expect = HMM_HEAP_ABANDONED;
    } else {
        h = heap_new();
        if (h)
            h->state = HMM_HEAP_ACTIVE;
    }
    pthread_mutex_unlock(&heaps_lock);
    if (!h)
        return NULL;
    hmm_tls_thread_heap = h;
    if (!hmm_opt.secure)
        hmm_tls_heap = h;
    /* After the TLS store: pthread_setspecific may allocate. */
    pthread_setspecific(exit_key, h);
    return h;
}

/* Drains and purges heaps whose threads exited. */
static void reclaim_abandoned(void)
{
    /* Only a try: maintenance must never wait for thread creation. */
    if (pthread_mutex_trylock(&heaps_lock) != 0)
        return;
    for (hmm_heap *h = abandoned; h; h = h->next_abandoned)
        hmm_remote_reclaim(h);
    pthread_mutex_unlock(&heaps_lock);
}

void hmm_heap_maintain(hmm_heap *h)
{
    uint64_t now = hmm_os_now_ms();
    hmm_span_purge_if_due(h, now);
    if (now < h->next_reclaim)
        return;
    /* Memory no live heap's own passes would reach: the huge cache, and
     * heaps whose threads exited. */
    h->next_reclaim = now + hmm_opt.purge_delay / 2 + 1;
    hmm_huge_trim(now, false);
    reclaim_abandoned();
}

/* ---- thread exit and fork ---- */

static void thread_exit(void *arg)
{
    hmm_heap *h = arg;
    if (hmm_unlikely(hmm_opt.secure))
        hmm_secure_flush(h);
    hmm_outbox_flush(h);
    hmm_remote_drain(h);
    hmm_slab_retire_all(h);
    /* Nobody may adopt the heap for a long time: its free pages go back
     * now rather than wait there. */
    hmm_span_purge(h, true);
    pthread_mutex_lock(&heaps_lock);
    h->state = HMM_HEAP_ABANDONED;
    h->next_abandoned = abandoned;
    abandoned = h;
    pthread_mutex_unlock(&heaps_lock);
    hmm_tls_heap = hmm_tls_thread_heap = &hmm_heap_empty;
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&heaps_lock);
    hmm_huge_lock_all();
}

static void fork_parent(void)
{
    hmm_huge_unlock_all(false);
    pthread_mutex_unlock(&heaps_lock);
}

static void fork_child(void)
{
    hmm_huge_unlock_all(true);
    pthread_mutex_init(&heaps_lock, NULL);
    /* Threads other than this one are gone, maybe in the middle of using
     * (or draining) their heaps: that memory stays theirs, never adopted. */
    abandoned = NULL;
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
}

void hmm_heap_stats(uint64_t *slabs, uint64_t *large, uint64_t *remote, uint64_t *abandoned_count)
{
    *slabs = *large = *remote = *abandoned_count = 0;
    pthread_mutex_lock(&heaps_lock);
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next) {
        hmm_heap *h = hmm_container_of(l, hmm_heap, all);
        *slabs += __atomic_load_n(&h->slabs, __ATOMIC_RELAXED);
        *large += __atomic_load_n(&h->large_blocks, __ATOMIC_RELAXED);
        *remote += __atomic_load_n(&h->remote_frees, __ATOMIC_RELAXED);
        *abandoned_count += h->state == HMM_HEAP_ABANDONED;
    }
    pthread_mutex_unlock(&heaps_lock);
}

int hmm_check_heap(void)
{
    hmm_heap *h = hmm_tls_thread_heap;
    if (h == &hmm_heap_empty)
        return 0;
    hmm_remote_drain(h);
    if (!hmm_list_valid(&h->chunks))
        hmm_corrupt("heap %p: chunk list broken", (void *)h);
    for (hmm_list *l = h->chunks.next; l != &h->chunks; l = l->next)
        hmm_span_check_chunk(h, hmm_container_of(l, hmm_chunk, link));
    hmm_span_check_bins(h);
    hmm_slab_check_all(h);
    return 0;
}
