/*
 * align.c - every aligned entry point (HmmAlignedAlloc, and aligned_alloc,
 * posix_memalign, memalign, valloc, pvalloc when the malloc family is
 * libhmm's) for every power of two from 1 byte to 1 MiB and some larger
 * ones up to 64 MiB, with sizes below, at and above the alignment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"
#include "testlib.h"

/* Touches the block: all of it when small, its ends and every 64 KiB
 * otherwise (the large alignments would map gigabytes). */
static void touch(char *p, size_t n, uint64_t tag)
{
    if (n <= (1 << 20)) {
        fill(p, n, tag);
        return;
    }
    for (size_t off = 0; off < n; off += 65536)
        fill_range(p, off, off + 64 < n ? off + 64 : n, tag);
    fill_range(p, n - 4096, n, tag);
}

static long verify(const char *p, size_t n, uint64_t tag)
{
    if (n <= (1 << 20))
        return check_fill(p, n, tag);
    for (size_t off = 0; off < n; off += 65536) {
        long at = check_range(p, off, off + 64 < n ? off + 64 : n, tag);
        if (at >= 0)
            return at;
    }
    return check_range(p, n - 4096, n, tag);
}

static void test_fn(size_t f, size_t align)
{
    enum { PER = 4 };
    size_t sizes[] = {1, align / 2 + 1, align, align + 1, 3 * align + 16 + 5, 100};
    size_t nsizes = align >= (4 << 20) ? 4 : sizeof sizes / sizeof sizes[0];
    void *blocks[sizeof sizes / sizeof sizes[0]][PER];
    size_t bad = 0;
    size_t want = align < 16 ? 16 : align;

    for (size_t s = 0; s < nsizes; s++)
        for (size_t k = 0; k < PER; k++) {
            size_t n = sizes[s];
            errno = 0;
            char *p = test_aligned_apis[f].fn(align, n);
            blocks[s][k] = p;
            if (!p) {
                if (bad++ < 3)
                    diag("%s(%zu, %zu) failed, errno %d", test_aligned_apis[f].name, align, n,
                         errno);
                continue;
            }
            if (!aligned_to(p, want) && bad++ < 3)
                diag("%s(%zu, %zu) = %p is not %zu-aligned", test_aligned_apis[f].name, align, n,
                     (void *)p, want);
            if (HmmUsableSize(p) < n && bad++ < 3)
                diag("%s(%zu, %zu): usable size %zu", test_aligned_apis[f].name, align, n,
                     HmmUsableSize(p));
            touch(p, n, s * PER + k + align);
        }
    for (size_t s = 0; s < nsizes; s++)
        for (size_t k = 0; k < PER; k++) {
            if (!blocks[s][k])
                continue;
            long at = verify(blocks[s][k], sizes[s], s * PER + k + align);
            if (at >= 0 && bad++ < 3)
                diag("%s(%zu, %zu): block changed at offset %ld", test_aligned_apis[f].name, align,
                     sizes[s], at);
#if HMM_TEST_INTERPOSE
            switch (k) {
            case 0:
                free(blocks[s][k]);
                break;
            case 1:
                free_aligned_sized(blocks[s][k], align, sizes[s]);
                break;
            case 2:
                HmmFree(blocks[s][k]);
                break;
            default:
                blocks[s][k] = realloc(blocks[s][k], sizes[s] + 1000);
                free(blocks[s][k]);
            }
#else
            if (k == 3)
                blocks[s][k] = HmmRealloc(blocks[s][k], sizes[s] + 1000);
            HmmFree(blocks[s][k]);
#endif
        }
    is_int(0, (long long)bad, "%s: alignment %zu, %zu sizes x %d blocks", test_aligned_apis[f].name,
           align, nsizes, PER);
}

int main(void)
{
    plan_lazy();
    for (size_t f = 0; f < N_ALIGNED_APIS; f++) {
        for (size_t align = test_aligned_apis[f].min_align; align <= (1 << 20); align <<= 1)
            test_fn(f, align);
        test_fn(f, 2 << 20);
        test_fn(f, 4 << 20);
        test_fn(f, 16 << 20);
        test_fn(f, 64 << 20);
    }
#if HMM_TEST_INTERPOSE
    size_t bad = 0;
    for (size_t n = 0; n < 3 * 4096; n += 511) {
        void *p = valloc(n), *q = pvalloc(n);
        if (!p || !aligned_to(p, 4096) || malloc_usable_size(p) < n)
            bad++;
        if (!q || !aligned_to(q, 4096) || malloc_usable_size(q) < ((n + 4095) & ~(size_t)4095))
            bad++;
        fill(p, n, n);
        fill(q, n, n + 1);
        if (check_fill(p, n, n) != -1 || check_fill(q, n, n + 1) != -1)
            bad++;
        free(p);
        free(q);
    }
    is_int(0, (long long)bad, "valloc and pvalloc: page-aligned, pvalloc rounds to whole pages");
#endif
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
