/*
 * pprof.c - the heap profile in the text format of gperftools' heap
 * profiler, the one both pprofs read: Debian's google-pprof (the perl
 * script of gperftools) and Go's (go tool pprof, github.com/google/pprof).
 * Users of tcmalloc's and jemalloc's profilers keep their tool.
 *
 *   heap profile: 33: 33000 [66: 66000] @ heap_v2/524288
 *   30: 30000 [31: 31000] @ 0x55d4a3c1a1b4 0x55d4a3c1a232 0x7f2d8c04524a
 *   ...
 *   MAPPED_LIBRARIES:
 *   (the lines of /proc/self/maps)
 *
 * A line per stack: its samples still allocated and their bytes, then
 * all its samples since the start and theirs, then its return addresses,
 * innermost first, libhmm's frames left out.  The header line sums them.
 * The counts are the samples as taken, not libhmm's estimates: heap_v2/R
 * tells the reader that they come from a Poisson process of mean R
 * bytes, and it scales each pair by 1 / (1 - exp(-avg / R)) itself, avg
 * being the pair's mean size.  (Scaling by the mean rather than sample by
 * sample, its estimates differ a little from FILE's for a stack that
 * allocates blocks of very different sizes.)  The readers take one from
 * the addresses to land on the call instruction (Go's from each, the perl
 * script from all but the first), so the return addresses go as they are.
 * The map is how the readers find the file each address is in and where
 * it was loaded (position-independent programs included), to name it
 * from the program's and its libraries' symbol tables.
 */
#include "observe/pprof.h"

#include "base/options.h"

void hmm_pprof_format(hmm_out *out, hmm_symbolizer *sym, hmm_stack *const *v, size_t n)
{
    /* The header sums the lines that follow it; a line is left out where
     * a stack has no frame of the program's (the grammar wants an address
     * at least: its capture failed). */
    unsigned long long inuse = 0, inuse_bytes = 0, alloc = 0, alloc_bytes = 0;
    hmm_frame f[HMM_BACKTRACE_MAX];
    void *pc[HMM_BACKTRACE_MAX];
    for (size_t i = 0; i < n; i++) {
        const hmm_stack *s = v[i];
        if (!hmm_stacks_frames(sym, s, f, pc))
            continue;
        inuse += s->samples;
        inuse_bytes += s->sampled_bytes;
        alloc += s->alloc_samples;
        alloc_bytes += s->alloc_sampled_bytes;
    }
    hmm_out_printf(out, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%u\n", inuse, inuse_bytes,
                   alloc, alloc_bytes, hmm_opt.profile_rate);
    for (size_t i = 0; i < n; i++) {
        const hmm_stack *s = v[i];
        unsigned depth = hmm_stacks_frames(sym, s, f, pc);
        if (!depth)
            continue;
        hmm_out_printf(out, "%llu: %llu [%llu: %llu] @", (unsigned long long)s->samples,
                       (unsigned long long)s->sampled_bytes, (unsigned long long)s->alloc_samples,
                       (unsigned long long)s->alloc_sampled_bytes);
        for (unsigned j = 0; j < depth; j++)
            hmm_out_printf(out, " %p", pc[j]);
        hmm_out_puts(out, "\n");
    }
    hmm_out_puts(out, "MAPPED_LIBRARIES:\n");
    hmm_out_copy(out, "/proc/self/maps");
}
