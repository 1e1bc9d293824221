/*
 * remote.c - frees that cross threads: the owner's lock-free remote stack,
 * the freeing thread's outbox that batches small blocks per destination,
 * draining on the owner's slow paths, and draining heaps whose thread
 * exited.
 */
#include "core/remote.h"

#include "base/diag.h"
#include "core/large.h"
#include "core/purger.h"
#include "base/os.h"
#include "core/slab.h"
#include "core/span.h"
#include "base/stats.h"

/* Frees block b (its mark is key) of span s of a chunk h owns, slab or
 * large. */
static void free_owned(hmm_heap *h, hmm_span *s, hmm_block *b, uintptr_t key)
{
    if (hmm_likely(s->kind == HMM_SPAN_SLAB))
        hmm_slab_free(h, s, b, key);
    else
        hmm_large_free(h, s);
}

void hmm_free_owned(hmm_heap *h, hmm_span *s, void *p) { free_owned(h, s, p, hmm_free_key(p)); }

/* The block after b (whose mark is key) on a remote chain of heap h,
 * checked before anything follows it: a chain holds blocks of any chunk of
 * h, so a next block in another chunk than b's must be in one the chunk
 * map says is h's (mapped, and not unmapped under us: only h's owner
 * releases them); b must still carry its mark, which proves it was a free
 * block's start when it was sent. */
static hmm_block *remote_next(hmm_heap *h, const hmm_block *b, uintptr_t key, const char *func)
{
    hmm_block *next = hmm_link_next(b, key);
    if (hmm_unlikely(b->key != key ||
                     (!hmm_same_chunk(b, next) && next &&
                      (hmm_chunk_map_get(next) != 1 || hmm_chunk_of(next)->heap != h))))
        hmm_corrupt_list(func, b);
    return next;
}

void hmm_remote_drain(hmm_heap *h, const char *func)
{
    hmm_block *lane[HMM_REMOTE_LANES];
    unsigned n = 0;
    for (unsigned k = 0; k < HMM_REMOTE_LANES; k++)
        if (__atomic_load_n(&h->remote[k], __ATOMIC_RELAXED) &&
            (lane[n] = __atomic_exchange_n(&h->remote[k], NULL, __ATOMIC_ACQUIRE)) != NULL)
            n++;
    /* A block of each chain in turn: the loads of their links do not
     * wait for one another. */
    while (n) {
        for (unsigned k = 0; k < n;) {
            hmm_block *b = lane[k];
            uintptr_t key = hmm_free_key(b);
            hmm_block *next = remote_next(h, b, key, func);
            free_owned(h, hmm_span_of(hmm_chunk_of(b), b), b, key);
            if (next)
                lane[k++] = next;
            else
                lane[k] = lane[--n];
        }
    }
}

/* The state word is the heap's lock: whoever moves it from ABANDONED owns
 * the heap until it moves it back. */
size_t hmm_remote_reclaim(hmm_heap *h, enum hmm_purge how, size_t keep, const char *func)
{
    int expect = HMM_HEAP_ABANDONED;
    if (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_DRAINING, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return 0;
    hmm_remote_drain(h, func);
    /* The slabs the drain emptied would wait as spares for a thread that
     * may never come, out of the purge's reach. */
    hmm_slab_release_spares(h);
    size_t released = how == HMM_PURGE_IDLE ? hmm_span_purge_if_due(h, hmm_os_now_ms())
                                            : hmm_span_purge(h, how, keep);
    /* What the drain freed is not idle yet, and no owner will come back
     * for it: the purger must watch this heap, as it watches a live one
     * whose owner freed as much (the freeing thread may make no call
     * again). */
    bool watch = ((size_t)h->dirty_pages << HMM_PAGE_SHIFT) >= HMM_PURGER_MIN;
    __atomic_store_n(&h->state, HMM_HEAP_ABANDONED, __ATOMIC_RELEASE);
    if (watch)
        hmm_purger_kick();
    return released;
}

/* Pushes the chain first..last on lane k of owner's remote stacks with
 * one CAS. */
static void remote_push(hmm_heap *owner, unsigned k, hmm_block *first, hmm_block *last)
{
    hmm_block *head = __atomic_load_n(&owner->remote[k], __ATOMIC_RELAXED);
    do
        hmm_block_mark_free(last, hmm_free_key(last), head);
    while (!__atomic_compare_exchange_n(&owner->remote[k], &head, first, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
}

/* A heap whose thread exited is drained by whoever frees into it. */
static void remote_sent(hmm_heap *owner, const char *func)
{
    if (__atomic_load_n(&owner->state, __ATOMIC_RELAXED) == HMM_HEAP_ABANDONED)
        hmm_remote_reclaim(owner, HMM_PURGE_IDLE, 0, func);
}

void hmm_outbox_flush(hmm_heap *h, const char *func)
{
    if (!h->out_n)
        return;
    for (unsigned k = 0; k < HMM_REMOTE_LANES && h->out_head[k]; k++) {
        remote_push(h->out_heap, k, h->out_head[k], h->out_tail[k]);
        h->out_head[k] = h->out_tail[k] = NULL;
    }
    h->out_n = 0;
    remote_sent(h->out_heap, func);
}

void hmm_outbox_add_slow(hmm_heap *h, hmm_heap *owner, hmm_block *b, uintptr_t key,
                         const char *func)
{
    if (h->out_heap != owner) {
        hmm_outbox_flush(h, func);
        h->out_heap = owner;
    }
    h->remote_frees++;
    unsigned k = h->out_n % HMM_REMOTE_LANES;
    hmm_block_mark_free(b, key, h->out_head[k]);
    if (!h->out_head[k])
        h->out_tail[k] = b;
    h->out_head[k] = b;
    if (++h->out_n >= HMM_OUTBOX_MAX)
        hmm_outbox_flush(h, func);
}

/* Small blocks are batched (hmm_outbox_add); others, and those of a
 * thread without a heap, go at once. */
void hmm_remote_free(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b, const char *func)
{
    if (h && s->kind == HMM_SPAN_SLAB) {
        hmm_outbox_add(h, c->heap, b, hmm_free_key(b), func);
        return;
    }
    if (h)
        h->remote_frees++;
    else
        hmm_stat_add(&hmm_gstats.remote_frees, 1);
    remote_push(c->heap, 0, b, b);
    remote_sent(c->heap, func);
}
