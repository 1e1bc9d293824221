/*
 * span.h - a heap's page allocator: free spans in bins segregated by
 * length with a bitmap over the bins, first fit, coalescing with free
 * neighbours through boundary tags, and lazy purging of pages that stay
 * free.  Called only by the owning thread (or a thread that holds an
 * abandoned heap), except hmm_span_purge_idle_from_afar.
 */
#ifndef HMM_SPAN_H
#define HMM_SPAN_H

#include "core/heap.h"

/* A span of npages pages aligned to align_pages pages; NULL when out of
 * memory.  *zeroed tells whether its pages are known to read as zero. */
hmm_span *hmm_span_alloc(hmm_heap *h, size_t npages, size_t align_pages, bool *zeroed);
/* Gives a span's pages back to its heap. */
void hmm_span_free(hmm_heap *h, hmm_span *s);
/* Grows a span in place into a free right neighbour; false when it cannot. */
bool hmm_span_grow(hmm_heap *h, hmm_span *s, size_t npages);
/* Shortens a span to npages, freeing the rest. */
void hmm_span_shrink(hmm_heap *h, hmm_span *s, size_t npages);
/* Purges h's free spans and unmaps its wholly free chunks as how says,
 * leaving up to keep bytes of dirty free pages resident (malloc_trim's
 * pad); returns the bytes given back. */
size_t hmm_span_purge(hmm_heap *h, enum hmm_purge how, size_t keep);
/* True when hmm_span_purge_if_due(h, now) would make a pass. */
hmm_inline bool hmm_span_purge_due(const hmm_heap *h, uint64_t now)
{
    return now >= h->next_purge || __atomic_load_n(&h->trim_request, __ATOMIC_RELAXED) != 0;
}
/* An IDLE pass when one is due at time now (hmm_os_now_ms()), or a FORCE
 * one at once when another thread asked (h->trim_request); returns the
 * bytes given back. */
size_t hmm_span_purge_if_due(hmm_heap *h, uint64_t now);
/* For the purger thread: the IDLE pass (or the trim another thread asked
 * for) of heap h, owned by another thread, unless h's owner is using its
 * spans.  True when h may still hold HMM_PURGER_MIN dirty bytes. */
bool hmm_span_purge_idle_from_afar(hmm_heap *h);
/* Checks h's chunk list, the tiling and boundary tags of its chunks, its
 * bins and their bitmap; aborts on error. */
void hmm_span_check(hmm_heap *h);

#endif
