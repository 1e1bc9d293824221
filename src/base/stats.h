/*
 * stats.h - process-wide counters.  They change only on slow paths (kernel
 * mappings, heap creation), so plain relaxed atomics are cheap enough;
 * per-heap counters live in the heaps and are summed on demand.
 */
#ifndef HMM_STATS_H
#define HMM_STATS_H

#include "base/internal.h"

typedef struct hmm_global_stats {
    uint64_t mapped, mapped_peak, purged, chunks, huge_blocks, huge_bytes;
    uint64_t heaps, heaps_reused;
    uint64_t remote_frees; /* by threads without a heap; the rest are per heap */
} hmm_global_stats;

extern hmm_global_stats hmm_gstats;

hmm_inline void hmm_stat_add(uint64_t *c, int64_t n)
{
    __atomic_fetch_add(c, (uint64_t)n, __ATOMIC_RELAXED);
}

/* Counts n bytes newly mapped (negative: unmapped) and tracks the peak. */
void hmm_stat_mapped(int64_t n);

#endif
