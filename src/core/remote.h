/*
 * remote.h - frees that cross threads.  A block freed by a thread other
 * than its heap's owner goes on the owner's lock-free remote stack (small
 * blocks batched in the freeing thread's outbox first); the owner drains
 * the stack on its slow paths.  A heap whose thread exited is drained by
 * whoever frees into it.
 */
#ifndef HMM_REMOTE_H
#define HMM_REMOTE_H

#include "core/heap.h"

/* Frees block b (in span s of chunk c) that another heap owns, from h
 * (NULL for a thread that could not get a heap).  func, here and below,
 * names the entry point in reports of corrupted free lists. */
void hmm_remote_free(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b, const char *func);
/* Frees block p of span s of a chunk h owns, slab or large. */
void hmm_free_owned(hmm_heap *h, hmm_span *s, void *p);
/* Takes back the blocks other threads freed for h. */
void hmm_remote_drain(hmm_heap *h, const char *func);
/* Sends the batch of blocks h freed for another heap. */
void hmm_outbox_flush(hmm_heap *h, const char *func);
/* Drains abandoned heap h and purges it, unless someone else is at it: an
 * IDLE pass when one is due, or what how says with keep (see
 * hmm_span_purge) now.  Returns the bytes given back. */
size_t hmm_remote_reclaim(hmm_heap *h, enum hmm_purge how, size_t keep, const char *func);

/* Blocks a thread batches for another heap before sending them: at most
 * this many wait, so little memory is held back from its owner. */
#define HMM_OUTBOX_MAX 32

/* hmm_outbox_add's other cases: an empty outbox, one holding blocks for
 * another heap (sent first), or one this block fills (sent after). */
void hmm_outbox_add_slow(hmm_heap *h, hmm_heap *owner, hmm_block *b, uintptr_t key,
                         const char *func);

/* Adds small block b of heap owner, whose mark is key, to h's outbox (the
 * batch goes when it is full, when a block for another heap comes, and on
 * h's slow paths): a producer/consumer pair pays one CAS per lane and
 * batch.  The common case, a block for the heap of the batch that neither
 * starts a lane nor fills the batch, makes no call (out_n - LANES wraps
 * while lanes are empty). */
hmm_inline void hmm_outbox_add(hmm_heap *h, hmm_heap *owner, hmm_block *b, uintptr_t key,
                               const char *func)
{
    unsigned n = h->out_n;
    if (hmm_unlikely(n - HMM_REMOTE_LANES >= HMM_OUTBOX_MAX - 1 - HMM_REMOTE_LANES ||
                     h->out_heap != owner)) {
        hmm_outbox_add_slow(h, owner, b, key, func);
        return;
    }
    h->remote_frees++;
    hmm_block **lane = &h->out_head[n % HMM_REMOTE_LANES];
    hmm_block_mark_free(b, key, *lane);
    *lane = b;
    h->out_n = n + 1;
}

/* True when other threads freed blocks for h that it has not taken back. */
hmm_inline bool hmm_remote_pending(const hmm_heap *h)
{
    uintptr_t any = 0;
    /* Unrolled: asked at every change of slabs, where the loop's counter
     * cost more than the loads. */
#pragma GCC unroll 4
    for (unsigned k = 0; k < HMM_REMOTE_LANES; k++)
        any |= (uintptr_t)__atomic_load_n(&h->remote[k], __ATOMIC_RELAXED);
    return any != 0;
}

/* What every allocating slow path does first: send this thread's batch of
 * frees for other heaps and take back the blocks others freed for it. */
hmm_inline void hmm_catch_up(hmm_heap *h, const char *func)
{
    hmm_outbox_flush(h, func);
    if (hmm_remote_pending(h))
        hmm_remote_drain(h, func);
}

#endif
