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
 * (NULL for a thread that could not get a heap).  func, here and below,
 * names the entry point in reports of corrupted free lists. */
void hmm_remote_free(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b, const char *func);
/* Frees a block of a chunk h owns, slab or large. */
void hmm_free_owned(hmm_heap *h, void *p);
/* Takes back the blocks other threads freed for h. */
void hmm_remote_drain(hmm_heap *h, const char *func);
/* Sends the batch of blocks h freed for another heap. */
void hmm_outbox_flush(hmm_heap *h, const char *func);
/* Drains abandoned heap h and purges it, unless someone else is at it: an
 * IDLE pass when one is due, or what how says with keep (see
 * hmm_span_purge) now.  Returns the bytes given back. */
size_t hmm_remote_reclaim(hmm_heap *h, enum hmm_purge how, size_t keep, const char *func);

/* What every allocating slow path does first: send this thread's batch of
 * frees for other heaps and take back the blocks others freed for it. */
hmm_inline void hmm_catch_up(hmm_heap *h, const char *func)
{
    hmm_outbox_flush(h, func);
    if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED))
        hmm_remote_drain(h, func);
}

#endif
