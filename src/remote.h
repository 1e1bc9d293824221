/*
 * remote.h - frees that cross threads.  A block freed by a thread other
 * than its heap's owner goes on the owner's lock-free remote stack (small
 * blocks batched in the freeing thread's outbox first); the owner drains
 * the stack on its slow paths.  A heap whose thread exited is drained by
 * whoever frees into it.
 */
#ifndef HMM_REMOTE_H
#define HMM_REMOTE_H

#include "heap.h"

/* Frees block b (in span s of chunk c) that another heap owns, from h
 * (possibly hmm_heap_empty). */
void hmm_remote_free(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b);
/* Frees a block of a chunk h owns, slab or large. */
void hmm_free_owned(hmm_heap *h, void *p);
/* Takes back the blocks other threads freed for h. */
void hmm_remote_drain(hmm_heap *h);
/* Sends the batch of blocks h freed for another heap. */
void hmm_outbox_flush(hmm_heap *h);
/* Drains abandoned heap h and purges it unless someone else is at it: a
 * pass when one is due or, with release, every free page and wholly free
 * chunk now.  True when it unmapped a chunk. */
bool hmm_remote_reclaim(hmm_heap *h, bool release);

/* What every allocating slow path does first: send this thread's batch of
 * frees for other heaps and take back the blocks others freed for it. */
hmm_inline void hmm_catch_up(hmm_heap *h)
{
    hmm_outbox_flush(h);
    if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED))
        hmm_remote_drain(h);
}

#endif
