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
#define _GNU_SOURCE
#include "observe/pprof.h"

#include <inttypes.h>
#include <stdlib.h>

#include "base/options.h"

static void copy_maps(FILE *out)
{
    FILE *in = fopen("/proc/self/maps", "re");
    if (!in)
        return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    fclose(in);
}

void hmm_pprof_format(FILE *out, hmm_symbolizer *sym, hmm_stack *const *v, size_t n)
{
    /* The header sums the lines that follow it: they go to a buffer
     * first. */
    char *lines = NULL;
    size_t len = 0;
    FILE *body = open_memstream(&lines, &len);
    if (!body)
        return;
    unsigned long long inuse = 0, inuse_bytes = 0, alloc = 0, alloc_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const hmm_stack *s = v[i];
        hmm_frame f[HMM_BACKTRACE_MAX];
        void *pc[HMM_BACKTRACE_MAX];
        unsigned depth = hmm_report_frames(sym, s, f, pc);
        /* The grammar wants an address at least; a stack has none of the
         * program's only when its capture failed. */
        if (!depth)
            continue;
        fprintf(body, "%llu: %llu [%llu: %llu] @", (unsigned long long)s->samples,
                (unsigned long long)s->sampled_bytes, (unsigned long long)s->alloc_samples,
                (unsigned long long)s->alloc_sampled_bytes);
        for (unsigned j = 0; j < depth; j++)
            fprintf(body, " 0x%" PRIxPTR, (uintptr_t)pc[j]);
        fputc('\n', body);
        inuse += s->samples;
        inuse_bytes += s->sampled_bytes;
        alloc += s->alloc_samples;
        alloc_bytes += s->alloc_sampled_bytes;
    }
    fclose(body);
    fprintf(out, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%lu\n", inuse, inuse_bytes, alloc,
            alloc_bytes, (unsigned long)hmm_opt.profile_rate);
    fwrite(lines, 1, len, out);
    free(lines);
    fputs("MAPPED_LIBRARIES:\n", out);
    copy_maps(out);
}
