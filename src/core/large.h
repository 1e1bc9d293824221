/*
 * large.h - large blocks: runs of whole pages (16 KiB to 2 MiB) from the
 * owning heap's span allocator, resized in place where the neighbours
 * allow.  Only the owning thread calls these.
 */
#ifndef HMM_LARGE_H
#define HMM_LARGE_H

#include "core/heap.h"

/* np pages aligned to align_pages pages; *zeroed tells whether they are
 * known to read as zero.  NULL when out of memory. */
void *hmm_large_alloc(hmm_heap *h, size_t np, size_t align_pages, bool *zeroed);
void hmm_large_free(hmm_heap *h, hmm_span *s);
/* Resizes large block s to np pages in place; false when it cannot. */
bool hmm_large_resize(hmm_heap *h, hmm_span *s, size_t np);

#endif
