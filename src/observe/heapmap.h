/*
 * heapmap.h - HMM_HEAP_MAP: the stream of samples and page snapshots that
 * hmm-run --heap-map draws (heapmap.c; the format is in libhmm(7)).
 */
#ifndef HMM_HEAPMAP_H
#define HMM_HEAPMAP_H

#include "base/options.h"

void hmm_heap_map_sample(uint64_t now);

/* From the allocating slow path (hmm_heap_maintain): a sample when one is
 * due.  Without HMM_HEAP_MAP this is one load and a branch. */
hmm_inline void hmm_heap_map_tick(uint64_t now)
{
    if (hmm_unlikely(hmm_opt.heap_map[0]))
        hmm_heap_map_sample(now);
}

#endif
