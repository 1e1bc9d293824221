/*
 * stats.c - the process-wide counters (see stats.h).
 */
#include "base/stats.h"

hmm_global_stats hmm_gstats;

void hmm_stat_mapped(int64_t n)
{
    uint64_t now = __atomic_add_fetch(&hmm_gstats.mapped, (uint64_t)n, __ATOMIC_RELAXED);
    uint64_t peak = __atomic_load_n(&hmm_gstats.mapped_peak, __ATOMIC_RELAXED);
    while (now > peak && !__atomic_compare_exchange_n(&hmm_gstats.mapped_peak, &peak, now, true,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}
