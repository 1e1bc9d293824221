/*
 * align-classes.c - aligned allocation at every alignment from 16 bytes to
 * 1 MiB and sizes on both sides of every size-class boundary (the slabs
 * serve alignments up to a page from a class whose blocks are all
 * aligned, the span allocator the others): each block aligned, its usable
 * size at least what was asked and all of it writable, its contents kept
 * by realloc.  The heap profile samples some of the calls (a sampled
 * block takes pages of its own), so both the fast path and the path it
 * hands a sampled call to are taken, at every alignment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "testlib.h"

/* Size-class boundaries and the sizes next to them: four steps per
 * doubling from 16 bytes to 64 KiB, and the 512-byte steps from 4 to
 * 8 KiB, each minus one, itself and plus one. */
static size_t make_sizes(size_t *sizes)
{
    size_t n = 0;
    for (size_t p = 16; p <= 65536; p <<= 1)
        for (size_t q = 0; q < 4; q++)
            for (size_t d = 0; d < 3; d++)
                sizes[n++] = p + q * p / 4 + d - 1;
    for (size_t b = 4096 + 512; b < 8192; b += 512)
        for (size_t d = 0; d < 3; d++)
            sizes[n++] = b + d - 1;
    return n;
}

#define PER 3 /* blocks of each size at once: refills of the slab as well */
#define SMALL_MAX 16384

static size_t sampled;

/* PER blocks of each size from fn at alignment align; returns the
 * failures, reporting the first few. */
static size_t test_align(size_t f, size_t align, const size_t *sizes, size_t nsizes)
{
    size_t bad = 0;
    for (size_t s = 0; s < nsizes; s++) {
        size_t n = sizes[s];
        char *blocks[PER];
        size_t usable[PER];
        for (size_t k = 0; k < PER; k++) {
            errno = 0;
            char *p = test_aligned_apis[f].fn(align, n);
            blocks[k] = p;
            if (!p) {
                if (bad++ < 3)
                    diag("%s(%zu, %zu) failed, errno %d", test_aligned_apis[f].name, align, n,
                         errno);
                continue;
            }
            usable[k] = HmmUsableSize(p);
            if (!aligned_to(p, align) && bad++ < 3)
                diag("%s(%zu, %zu) = %p is not aligned", test_aligned_apis[f].name, align, n,
                     (void *)p);
            if (usable[k] < n && bad++ < 3)
                diag("%s(%zu, %zu): usable size %zu", test_aligned_apis[f].name, align, n,
                     usable[k]);
            if (n <= SMALL_MAX && usable[k] > SMALL_MAX && align <= 4096)
                sampled++;
            fill(p, usable[k], n * PER + k);
        }
        for (size_t k = 0; k < PER; k++) {
            char *p = blocks[k];
            if (!p)
                continue;
            long at = check_fill(p, usable[k], n * PER + k);
            if (at >= 0 && bad++ < 3)
                diag("%s(%zu, %zu): block changed at offset %ld", test_aligned_apis[f].name, align,
                     n, at);
            if (k == 0) {
                /* realloc keeps the usable bytes, whatever way it moves. */
                p = HmmRealloc(p, 2 * usable[k] + 1);
                if (!p || check_fill(p, usable[k], n * PER + k) >= 0) {
                    if (bad++ < 3)
                        diag("%s(%zu, %zu): realloc lost the contents", test_aligned_apis[f].name,
                             align, n);
                    if (!p)
                        continue;
                }
            }
#if HMM_TEST_INTERPOSE
            if (k == 1)
                free_aligned_sized(p, align, n);
            else
                free(p);
#else
            HmmFree(p);
#endif
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Samples about every 64 KiB allocated, written under the build tree
     * at exit (t/api/tmp.* is removed by make clean). */
    tap_run_with_env("HMM_PROFILE", "t/api/tmp.align-classes", argv);
    tap_run_with_env("HMM_PROFILE_RATE", "65536", argv);
    plan_lazy();
    size_t sizes[13 * 12 + 7 * 3];
    size_t nsizes = make_sizes(sizes);
    for (size_t f = 0; f < N_ALIGNED_APIS; f++)
        for (size_t align = 16; align <= (1 << 20); align <<= 1)
            is_int(0, (long long)test_align(f, align, sizes, nsizes),
                   "%s: alignment %zu, %zu sizes around the class boundaries x %d blocks",
                   test_aligned_apis[f].name, align, nsizes, PER);
    ok(sampled > 0, "the heap profile sampled %zu of the small aligned blocks", sampled);
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
