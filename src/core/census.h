/*
 * census.h - figures of the heaps counted on demand by walking their
 * chunks, so that nothing on the allocation paths counts bytes: a slab
 * descriptor already knows its blocks in use, a large block's its pages.
 * Shared by HmmGetStats, glibc's introspection calls and the heap map
 * (heapmap.c), which reads the same walk span by span.
 */
#ifndef HMM_CENSUS_H
#define HMM_CENSUS_H

#include "core/heap.h"

typedef struct hmm_class_census {
    uint64_t slabs;
    uint64_t used; /* blocks handed out */
    uint64_t free; /* blocks not handed out, carved or not */
} hmm_class_census;

typedef struct hmm_census {
    uint64_t heaps, abandoned;
    uint64_t chunks;                    /* chunks mapped, headers included */
    uint64_t small_blocks, small_bytes; /* live blocks in slabs, usable sizes */
    uint64_t slabs, slab_free_bytes;    /* free blocks' bytes in slabs */
    uint64_t large_blocks, large_bytes; /* live blocks of whole pages */
    uint64_t free_spans, free_bytes;    /* free pages between blocks */
    uint64_t dirty_bytes;               /* ... of which may be resident */
    uint64_t remote_frees;              /* per-heap counters, summed */
    hmm_class_census cls[HMM_NCLASS];
} hmm_census;

/* One span as a walk read it: each field is loaded once, since another
 * thread may be rewriting the descriptor.  A chunk's header pages come
 * first, as a span of kind HMM_SPAN_META; a slab whose fields do not add
 * up (caught mid-update) is given kind HMM_SPAN_NONE. */
typedef struct hmm_span_view {
    const hmm_chunk *chunk;
    size_t first, npages; /* pages [first, first + npages) of chunk */
    unsigned kind, flags;
    unsigned cls;                /* SLAB: size class */
    uint64_t used, count, bsize; /* SLAB: blocks handed out, blocks, block size */
} hmm_span_view;

typedef void hmm_span_visitor(const hmm_span_view *v, void *arg);

/* Calls visit(v, arg) for every span of every chunk of h, in address order
 * within a chunk, under h's lock (see hmm_census_heap).  A chunk's walk
 * stops early at a head the owner is rewriting. */
void hmm_census_walk(hmm_heap *h, hmm_span_visitor *visit, void *arg);
/* Adds h's figures to *c.  The owner may change h meanwhile: the figures
 * of another live thread's heap are a snapshot that may be off by what it
 * did during the walk, but its chunks cannot be unmapped under the walk. */
void hmm_census_heap(hmm_heap *h, hmm_census *c);
/* Adds every figure of *c to *total. */
void hmm_census_add(hmm_census *total, const hmm_census *c);
/* *c = the figures of every heap. */
void hmm_census_all(hmm_census *c);

#endif
