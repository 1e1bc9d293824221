/*
 * report.c - HmmGetStats and HmmPrintStats: the process-wide counters plus
 * the heaps' census, and the report at exit when HMM_STATS or
 * HMM_STATS_FILE is set.
 */
#include "hmm.h"

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "base/stats.h"
#include "core/census.h"

HMM_EXPORT int HmmGetStats(HmmStats *st)
{
    st->mapped = __atomic_load_n(&hmm_gstats.mapped, __ATOMIC_RELAXED);
    st->mapped_peak = __atomic_load_n(&hmm_gstats.mapped_peak, __ATOMIC_RELAXED);
    hmm_os_resident(&st->resident, &st->resident_peak);
    st->purged = __atomic_load_n(&hmm_gstats.purged, __ATOMIC_RELAXED);
    st->chunks = __atomic_load_n(&hmm_gstats.chunks, __ATOMIC_RELAXED);
    st->huge_blocks = __atomic_load_n(&hmm_gstats.huge_blocks, __ATOMIC_RELAXED);
    st->huge_bytes = __atomic_load_n(&hmm_gstats.huge_bytes, __ATOMIC_RELAXED);
    st->heaps = __atomic_load_n(&hmm_gstats.heaps, __ATOMIC_RELAXED);
    st->heaps_reused = __atomic_load_n(&hmm_gstats.heaps_reused, __ATOMIC_RELAXED);
    hmm_census c;
    hmm_census_all(&c);
    st->slabs = c.slabs;
    st->large_blocks = c.large_blocks;
    st->heaps_abandoned = c.abandoned;
    st->remote_frees = c.remote_frees + __atomic_load_n(&hmm_gstats.remote_frees, __ATOMIC_RELAXED);
    return 0;
}

static void print_stats(hmm_out *o)
{
    HmmStats st;
    HmmGetStats(&st);
    hmm_out_printf(o,
                   "libhmm statistics:\n"
                   "  mapped          %llu bytes (peak %llu)\n"
                   "  resident        %llu bytes (peak %llu)\n"
                   "  purged          %llu bytes\n"
                   "  chunks          %llu\n"
                   "  slabs           %llu\n"
                   "  large blocks    %llu\n",
                   (unsigned long long)st.mapped, (unsigned long long)st.mapped_peak,
                   (unsigned long long)st.resident, (unsigned long long)st.resident_peak,
                   (unsigned long long)st.purged, (unsigned long long)st.chunks,
                   (unsigned long long)st.slabs, (unsigned long long)st.large_blocks);
    hmm_out_printf(o,
                   "  huge blocks     %llu (%llu bytes)\n"
                   "  remote frees    %llu\n"
                   "  heaps           %llu (abandoned %llu, reused %llu times)\n",
                   (unsigned long long)st.huge_blocks, (unsigned long long)st.huge_bytes,
                   (unsigned long long)st.remote_frees, (unsigned long long)st.heaps,
                   (unsigned long long)st.heaps_abandoned, (unsigned long long)st.heaps_reused);
}

HMM_EXPORT void HmmPrintStats(int fd)
{
    hmm_out o;
    hmm_out_open(&o, "", fd, "statistics");
    print_stats(&o);
    hmm_out_close(&o);
}

__attribute__((destructor)) static void stats_at_exit(void)
{
    hmm_options_init();
    hmm_out o;
    if ((hmm_opt.stats_file[0] || hmm_opt.stats) &&
        hmm_out_open(&o, hmm_opt.stats_file, hmm_opt.stats_fd, "statistics")) {
        print_stats(&o);
        hmm_out_close(&o);
    }
}
