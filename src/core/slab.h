/*
 * slab.h - slabs: spans cut into blocks of one size class, carved a page
 * at a time as they are used, listed as partial while they have free
 * blocks, given back to the span allocator when they empty.  Only the
 * owning thread calls these.
 */
#ifndef HMM_SLAB_H
#define HMM_SLAB_H

#include "core/heap.h"

/* The slab every empty cur[] entry points at: no free blocks, never full. */
extern hmm_span hmm_span_empty;

/* A block of class cls from h's slabs (carving, taking a partial slab or
 * making a new one); NULL when out of memory. */
void *hmm_slab_alloc(hmm_heap *h, unsigned cls, const char *func);
/* Gives h's current slab of class cls a free block: carves its next
 * page, or makes a partial or a new slab current; false when out of
 * memory. */
bool hmm_slab_ready(hmm_heap *h, unsigned cls);
/* hmm_slab_ready's two cases, for malloc's slow path, which tells them
 * apart itself: carve the next page of current slab s (which has one);
 * make a partial or a new slab current in place of h's current slab of
 * class cls, which has no free block and no page left to carve (false
 * when out of memory). */
void hmm_slab_refill(hmm_span *s);
/* Threads the next page's worth of slab s's fresh blocks onto its free
 * list, so memory is touched only as it is used. */
void hmm_slab_carve(hmm_span *s);
bool hmm_slab_change(hmm_heap *h, unsigned cls);
/* Frees block b of slab s of h, whose mark is key (b may carry it
 * already).  Inline: draining remote frees calls it for every block. */
hmm_inline void hmm_slab_free(hmm_heap *h, hmm_span *s, hmm_block *b, uintptr_t key)
{
    bool was_full = !hmm_slab_has_free(s);
    hmm_slab_push(s, b, key);
    /* As in hmm_free: a slab that had free blocks is current or listed
     * already, so only one that became empty or was full needs a look. */
    if (hmm_unlikely(--s->used == 0 || was_full))
        hmm_slab_after_free(h, s);
}
void hmm_slab_release_spares_slow(hmm_heap *h);
/* Releases h's spare slabs (emptied slabs kept for their class's next
 * slab) to its span allocator, so that their pages may be purged.  The
 * check inline: every large allocation asks, and most heaps hold none. */
hmm_inline void hmm_slab_release_spares(hmm_heap *h)
{
    if (h->spare_pages)
        hmm_slab_release_spares_slow(h);
}
/* Lets go of h's current slabs (thread exit): empty ones are released. */
void hmm_slab_retire_all(hmm_heap *h);
/* Checks the slabs h can allocate from; aborts on error. */
void hmm_slab_check_all(hmm_heap *h);

#endif
