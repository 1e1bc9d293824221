/*
 * api.c - the contract of every entry point, through the Hmm* API and (when
 * libhmm replaces it) the malloc family: malloc(0), ENOMEM for impossible
 * sizes and calloc overflow, realloc failure leaving the block intact,
 * posix_memalign's EINVAL, free preserving errno, usable sizes that may
 * really be written, cross-family frees, and the statistics calls.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

static const size_t too_big[] = {
    (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,   SIZE_MAX,        SIZE_MAX - 15,
    SIZE_MAX - 4095,         SIZE_MAX - (1u << 20), (size_t)1 << 62,
};
#define N_TOO_BIG (sizeof too_big / sizeof too_big[0])

/* Sizes across every range: tiny, small slabs, large page runs, huge. */
static const size_t sizes[] = {
    0,       1,
    15,      16,
    17,      100,
    1000,    1024,
    1025,    4095,
    4096,    4097,
    16383,   16384,
    16385,   65536,
    100000,  1 << 19,
    1 << 20, (1 << 20) + 1,
    2 << 20, (2 << 20) + 1,
    3 << 20, 5 << 20,
    9 << 20,
};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static void test_zero_size(const alloc_api *a)
{
    void *p = a->alloc(0), *q = a->alloc(0);
    ok(p && q && p != q, "%s: two allocations of 0 bytes are distinct non-NULL pointers", a->name);
    ok(aligned_to(p, 16) && aligned_to(q, 16), "%s: ... 16-byte aligned", a->name);
    a->release(p);
    a->release(q);
    p = a->zalloc(0, 10);
    q = a->zalloc(10, 0);
    ok(p && q && p != q, "%s: zero-sized calloc gives distinct non-NULL pointers", a->name);
    a->release(p);
    a->release(q);
}

static void test_too_big(const alloc_api *a)
{
    size_t bad = 0;
    for (size_t i = 0; i < N_TOO_BIG; i++) {
        errno = 0;
        void *p = a->alloc(too_big[i]);
        if (p != NULL || errno != ENOMEM) {
            bad++;
            diag("%s: alloc(%zu) = %p, errno %d", a->name, too_big[i], p, errno);
            if (p)
                a->release(p);
        }
        errno = 0;
        p = a->aligned(4096, too_big[i]);
        if (p != NULL || errno != ENOMEM) {
            bad++;
            diag("%s: aligned(4096, %zu) = %p, errno %d", a->name, too_big[i], p, errno);
            if (p)
                a->release(p);
        }
    }
    is_int(0, (long long)bad,
           "%s: sizes above PTRDIFF_MAX (and other impossible ones) give NULL, ENOMEM", a->name);

    static const size_t overflow[][2] = {
        {SIZE_MAX / 2 + 1, 2}, {(size_t)1 << 32, (size_t)1 << 32}, {SIZE_MAX, SIZE_MAX},
        {2, SIZE_MAX / 2 + 1}, {(size_t)PTRDIFF_MAX / 2 + 1, 2},   {3, (size_t)PTRDIFF_MAX / 3 + 1},
    };
    bad = 0;
    for (size_t i = 0; i < sizeof overflow / sizeof overflow[0]; i++) {
        errno = 0;
        void *p = a->zalloc(overflow[i][0], overflow[i][1]);
        if (p != NULL || errno != ENOMEM) {
            bad++;
            diag("%s: calloc(%zu, %zu) = %p, errno %d", a->name, overflow[i][0], overflow[i][1], p,
                 errno);
            if (p)
                a->release(p);
        }
    }
    is_int(0, (long long)bad, "%s: calloc overflow gives NULL, ENOMEM", a->name);
}

static void test_failed_realloc(const alloc_api *a)
{
    static const size_t from[] = {24, 3000, 100000, 3 << 20};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        for (size_t j = 0; j < N_TOO_BIG; j++) {
            char *p = a->alloc(from[i]);
            if (!p)
                bail("%s: alloc(%zu) failed", a->name, from[i]);
            fill(p, from[i], i * 100 + j);
            errno = 0;
            void *q = a->resize(p, too_big[j]);
            int err = errno;
            if (q != NULL || err != ENOMEM || check_fill(p, from[i], i * 100 + j) != -1 ||
                a->usable(p) < from[i]) {
                bad++;
                diag("%s: realloc(%zu-byte block, %zu) = %p, errno %d", a->name, from[i],
                     too_big[j], q, err);
                if (q)
                    p = q;
            } else {
                /* The block is still live and usable. */
                q = a->resize(p, from[i] * 2);
                if (!q || check_fill(q, from[i], i * 100 + j) != -1) {
                    bad++;
                    diag("%s: the block could not be resized after a failed realloc", a->name);
                }
                if (q)
                    p = q;
            }
            a->release(p);
        }
    }
    is_int(0, (long long)bad,
           "%s: a failed realloc returns NULL, ENOMEM and leaves the block intact", a->name);

    void *p = a->resize(NULL, 100);
    ok(p && a->usable(p) >= 100 && aligned_to(p, 16), "%s: realloc(NULL, 100) allocates", a->name);
    a->release(p);
}

static void test_free_errno(const alloc_api *a)
{
    size_t bad = 0;
    for (size_t i = 0; i < N_SIZES; i++) {
        void *p = a->alloc(sizes[i]);
        if (!p)
            bail("%s: alloc(%zu) failed", a->name, sizes[i]);
        errno = EBUSY;
        a->release(p);
        if (errno != EBUSY) {
            bad++;
            diag("%s: freeing a %zu-byte block changed errno to %d", a->name, sizes[i], errno);
        }
    }
    errno = EDOM;
    a->release(NULL);
    if (errno != EDOM)
        bad++;
    is_int(0, (long long)bad, "%s: free preserves errno (every size range, and NULL)", a->name);
}

/* Blocks of each size: usable size >= requested, 16-byte aligned, and all
 * of it writable without touching any other block. */
static void test_usable(const alloc_api *a)
{
    size_t bad_size = 0, bad_align = 0, bad_content = 0;
    is_int(0, (long long)a->usable(NULL), "%s: usable size of NULL is 0", a->name);
    for (size_t n = 0; n <= (9 << 20); n = n < 1100 ? n + 1 : n < 70000 ? n * 5 / 4 : n * 2) {
        size_t count = n < 65536 ? 24 : n < (4 << 20) ? 4 : 2;
        void *blocks[24];
        size_t usable[24];
        for (size_t k = 0; k < count; k++) {
            blocks[k] = a->alloc(n);
            if (!blocks[k])
                bail("%s: alloc(%zu) failed", a->name, n);
            usable[k] = a->usable(blocks[k]);
            if (usable[k] < n && bad_size++ < 5)
                diag("%s: usable size of a %zu-byte block is %zu", a->name, n, usable[k]);
            if (!aligned_to(blocks[k], 16) && bad_align++ < 5)
                diag("%s: alloc(%zu) = %p is not 16-byte aligned", a->name, n, blocks[k]);
            fill(blocks[k], usable[k], n * 31 + k);
        }
        for (size_t k = 0; k < count; k++) {
            long at = check_fill(blocks[k], usable[k], n * 31 + k);
            if (at >= 0 && bad_content++ < 5)
                diag("%s: %zu-byte block (usable %zu) changed at offset %ld", a->name, n, usable[k],
                     at);
            a->release(blocks[k]);
        }
    }
    is_int(0, (long long)bad_size, "%s: usable size >= requested size (sizes 0 to 9 MiB)", a->name);
    is_int(0, (long long)bad_align, "%s: every block is 16-byte aligned", a->name);
    is_int(0, (long long)bad_content, "%s: the whole usable size is writable and private", a->name);
}

static int cmp_ptr(const void *x, const void *y)
{
    uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
    return a < b ? -1 : a > b;
}

/* Many live blocks of random sizes never overlap. */
static void test_no_overlap(const alloc_api *a, uint64_t seed)
{
    enum { N = 20000 };
    static uintptr_t blk[N][2];
    rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < N; i++) {
        size_t n = rng_below(&r, 8) == 0 ? rng_below(&r, 200000) : rng_below(&r, 600);
        void *p = a->alloc(n);
        if (!p)
            bail("%s: alloc(%zu) failed", a->name, n);
        blk[i][0] = (uintptr_t)p;
        blk[i][1] = (uintptr_t)p + a->usable(p);
        /* Free a few to create holes that later blocks reuse. */
        if (i > 0 && rng_below(&r, 4) == 0) {
            size_t j = rng_below(&r, i);
            if (blk[j][0]) {
                a->release((void *)blk[j][0]);
                blk[j][0] = blk[j][1] = 0;
            }
        }
    }
    qsort(blk, N, sizeof blk[0], cmp_ptr);
    size_t overlaps = 0;
    for (size_t i = 1; i < N; i++)
        if (blk[i - 1][0] && blk[i][0] < blk[i - 1][1] && overlaps++ < 5)
            diag("%s: [%#lx, %#lx) overlaps [%#lx, %#lx)", a->name, (unsigned long)blk[i - 1][0],
                 (unsigned long)blk[i - 1][1], (unsigned long)blk[i][0], (unsigned long)blk[i][1]);
    for (size_t i = 0; i < N; i++)
        if (blk[i][0])
            a->release((void *)blk[i][0]);
    is_int(0, (long long)overlaps, "%s: %d live blocks (usable extents) never overlap", a->name, N);
}

static void test_aligned_api(const alloc_api *a)
{
    void *p = a->aligned(64, 100);
    ok(p && aligned_to(p, 64) && a->usable(p) >= 100,
       "%s: aligned alloc with a size that is not a multiple of the alignment", a->name);
    a->release(p);
    p = a->aligned(1, 1);
    ok(p && aligned_to(p, 16), "%s: aligned alloc with alignment 1 is still 16-byte aligned",
       a->name);
    a->release(p);
}

static void test_hmm_only(void)
{
    static const size_t bad_align[] = {0, 3, 24, 48, 100, 4095, SIZE_MAX};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        errno = 0;
        void *p = HmmAlignedAlloc(bad_align[i], 64);
        if (p || errno != EINVAL) {
            bad++;
            diag("HmmAlignedAlloc(%zu, 64) = %p, errno %d", bad_align[i], p, errno);
        }
    }
    is_int(0, (long long)bad, "HmmAlignedAlloc with a bad alignment: NULL, EINVAL");

    HmmStats s0, s1, s2;
    is_int(0, HmmGetStats(&s0), "HmmGetStats returns 0");
    ok(s0.mapped > 0 && s0.mapped_peak >= s0.mapped && s0.chunks > 0 && s0.heaps > 0,
       "statistics are plausible (mapped %llu, peak %llu, chunks %llu, heaps %llu)",
       (unsigned long long)s0.mapped, (unsigned long long)s0.mapped_peak,
       (unsigned long long)s0.chunks, (unsigned long long)s0.heaps);
    void *big = HmmAlloc(16 << 20);
    HmmGetStats(&s1);
    /* (mapped need not grow: freed huge pages may be cached and reused.) */
    if (!ok(big && s1.huge_blocks == s0.huge_blocks + 1 &&
                s1.huge_bytes >= s0.huge_bytes + (16 << 20) && s1.mapped_peak >= s1.mapped,
            "a 16 MiB block counts as one huge block of >= 16 MiB"))
        diag("huge blocks %llu -> %llu, bytes %llu -> %llu, mapped %llu, peak %llu",
             (unsigned long long)s0.huge_blocks, (unsigned long long)s1.huge_blocks,
             (unsigned long long)s0.huge_bytes, (unsigned long long)s1.huge_bytes,
             (unsigned long long)s1.mapped, (unsigned long long)s1.mapped_peak);
    HmmFree(big);
    HmmGetStats(&s2);
    ok(s2.huge_blocks == s0.huge_blocks && s2.huge_bytes == s0.huge_bytes,
       "freeing it returns the huge counters to their previous values");
    if (s2.huge_blocks != s0.huge_blocks || s2.huge_bytes != s0.huge_bytes)
        diag("before %llu blocks %llu bytes, after %llu blocks %llu bytes",
             (unsigned long long)s0.huge_blocks, (unsigned long long)s0.huge_bytes,
             (unsigned long long)s2.huge_blocks, (unsigned long long)s2.huge_bytes);

    int fds[2];
    if (pipe(fds) != 0)
        sysbail("pipe");
    HmmPrintStats(fds[1]);
    close(fds[1]);
    char buf[8192];
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof buf - 1 - (size_t)total)) > 0)
        total += n;
    close(fds[0]);
    buf[total > 0 ? total : 0] = '\0';
    ok(total > 0 && strchr(buf, '\n') != NULL, "HmmPrintStats writes text to a file descriptor");
    char want[64];
    snprintf(want, sizeof want, "%llu", (unsigned long long)s2.mapped);
    ok(strstr(buf, want) != NULL, "... which shows the counters (mapped = %s)", want);
}

#if HMM_TEST_INTERPOSE
static void test_malloc_only(void)
{
    Dl_info info = {0};
    int found = dladdr((void *)malloc, &info);
    const char *where = found && info.dli_fname ? info.dli_fname : "?";
    ok(strstr(where, "libhmm.so") != NULL, "malloc is libhmm's (%s)", where);

    static const size_t bad_align[] = {0, 1, 2, 4, 3, 24, 48, 4095};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        void *p = (void *)0x1234;
        int r = posix_memalign(&p, bad_align[i], 64);
        if (r != EINVAL || p != (void *)0x1234) {
            bad++;
            diag("posix_memalign(%zu) = %d, pointer %p", bad_align[i], r, p);
        }
    }
    is_int(0, (long long)bad,
           "posix_memalign with a bad alignment returns EINVAL, pointer untouched");
    void *p = (void *)0x1234;
    int r = posix_memalign(&p, 64, (size_t)PTRDIFF_MAX + 1);
    ok(r == ENOMEM && p == (void *)0x1234, "posix_memalign of an impossible size returns ENOMEM");
    p = NULL;
    r = posix_memalign(&p, sizeof(void *), 0);
    ok(r == 0 && p != NULL, "posix_memalign of 0 bytes gives a pointer");
    free(p);
    r = posix_memalign(&p, 256, 1000);
    ok(r == 0 && aligned_to(p, 256) && malloc_usable_size(p) >= 1000, "posix_memalign(256, 1000)");
    free(p);

    p = valloc(5000);
    ok(p && aligned_to(p, 4096) && malloc_usable_size(p) >= 5000, "valloc is page-aligned");
    free(p);
    p = pvalloc(1);
    ok(p && aligned_to(p, 4096) && malloc_usable_size(p) >= 4096,
       "pvalloc rounds the size up to a page");
    free(p);
    p = memalign(128, 300);
    ok(p && aligned_to(p, 128) && malloc_usable_size(p) >= 300, "memalign(128, 300)");
    free(p);

    char *q = malloc(100);
    fill(q, 100, 7);
    errno = 0;
    /* Deliberate: q stays valid because the call fails. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
    void *q2 = reallocarray(q, SIZE_MAX / 2, 3);
    ok(q2 == NULL && errno == ENOMEM && check_fill(q, 100, 7) == -1,
       "reallocarray overflow: NULL, ENOMEM, block intact");
    q2 = reallocarray(q, 50, 4);
    ok(q2 && check_fill(q2, 100, 7) == -1 && malloc_usable_size(q2) >= 200, "reallocarray grows");
#pragma GCC diagnostic pop
    free(q2);

    /* Any pointer may be passed to any of the functions. */
    size_t bad_cross = 0;
    for (size_t i = 0; i < N_SIZES; i++) {
        size_t n = sizes[i];
        char *b = HmmAlloc(n);
        fill(b, n, n);
        b = realloc(b, n + 10);
        if (!b || check_fill(b, n, n) != -1)
            bad_cross++;
        free(b);
        b = malloc(n);
        fill(b, n, n + 1);
        b = HmmRealloc(b, n / 2 + 1);
        if (!b || check_fill(b, n / 2, n + 1) != -1 || HmmUsableSize(b) != malloc_usable_size(b))
            bad_cross++;
        HmmFree(b);
        b = calloc(1, n);
        if (!b || !all_bytes(b, n, 0))
            bad_cross++;
        free_sized(b, n);
        b = aligned_alloc(64, n);
        if (!b || !aligned_to(b, 64))
            bad_cross++;
        free_aligned_sized(b, 64, n);
        if (posix_memalign((void **)&b, 4096, n) != 0)
            bad_cross++;
        else
            HmmFree(b);
        b = HmmAlignedAlloc(32, n);
        free(b);
    }
    is_int(0, (long long)bad_cross,
           "blocks pass between the malloc family, Hmm*, free_sized and free_aligned_sized");
}
#endif

int main(void)
{
    uint64_t seed = test_seed(42);
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++) {
        const alloc_api *a = &test_apis[i];
        test_zero_size(a);
        test_too_big(a);
        test_failed_realloc(a);
        test_free_errno(a);
        test_usable(a);
        test_no_overlap(a, seed + i);
        test_aligned_api(a);
    }
    test_hmm_only();
#if HMM_TEST_INTERPOSE
    test_malloc_only();
#else
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
