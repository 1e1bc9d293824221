/*
 * span.h - a heap's page allocator: free spans in bins segregated by
 * length with a bitmap over the bins, first fit, coalescing with free
 * neighbours through boundary tags, and lazy purging of pages that stay
 * free.  Called only by the owning thread.
 */
#ifndef HMM_SPAN_H
#define HMM_SPAN_H

#include "heap.h"

/* A span of npages pages aligned to align_pages pages; NULL when out of
 * memory.  *zeroed tells whether its pages are known to read as zero. */
hmm_span *hmm_span_alloc(hmm_heap *h, size_t npages, size_t align_pages, bool *zeroed);
/* Gives a span's pages back to its heap. */
void hmm_span_free(hmm_heap *h, hmm_span *s);
/* Grows a span in place into a free right neighbour; false when it cannot. */
bool hmm_span_grow(hmm_heap *h, hmm_span *s, size_t npages);
/* Shortens a span to npages, freeing the rest. */
void hmm_span_shrink(hmm_heap *h, hmm_span *s, size_t npages);
/* How much a purge pass gives back. */
enum hmm_purge {
    HMM_PURGE_IDLE,  /* free spans idle for the purge delay; wholly free chunks but one */
    HMM_PURGE_FORCE, /* every free span, whatever its age; wholly free chunks but one */
    HMM_PURGE_ALL,   /* as FORCE, and the chunk a heap otherwise keeps */
};
/* Purges h's free spans and unmaps its wholly free chunks as how says;
 * true when it unmapped a chunk. */
bool hmm_span_purge(hmm_heap *h, enum hmm_purge how);
/* Calls hmm_span_purge when a pass is due at time now (hmm_os_now_ms()). */
void hmm_span_purge_if_due(hmm_heap *h, uint64_t now);
/* Checks tiling and boundary tags of one chunk; aborts on error. */
void hmm_span_check_chunk(hmm_heap *h, hmm_chunk *c);
/* Checks h's bins and their bitmap; aborts on error. */
void hmm_span_check_bins(hmm_heap *h);

#endif
