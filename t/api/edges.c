/*
 * edges.c - sizes and alignments at the edges.  Every allocating entry point
 * is called with size 0, with sizes just below, at and above each boundary
 * where libhmm changes how it serves a request (the 1 KiB table, 16 KiB
 * small classes, 2 MiB large blocks, 4 MiB chunks) and with alignments from
 * 16 bytes to 8 MiB.  Each block must be aligned, usable for at least the
 * size asked (one byte for size 0), writable over all its usable bytes, and
 * apart from the blocks allocated right after it; blocks allocated and
 * freed afterwards must not trip libhmm's pointer checks, which is how a
 * corrupted chunk map shows.  Sizes near PTRDIFF_MAX and SIZE_MAX must fail
 * with ENOMEM, and realloc to 0 frees the block and returns NULL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "tap.h"
#include "testlib.h"

#if !HMM_TEST_INTERPOSE
/* Linked with the core library here, so its heap check is in reach. */
int hmm_check_heap(void);
#endif

typedef void *(*alloc_fn)(size_t align, size_t size);

static void *via_HmmAlloc(size_t a, size_t n)
{
    (void)a;
    return HmmAlloc(n);
}
static void *via_HmmCalloc_1n(size_t a, size_t n)
{
    (void)a;
    return HmmCalloc(1, n);
}
static void *via_HmmCalloc_n1(size_t a, size_t n)
{
    (void)a;
    return HmmCalloc(n, 1);
}
static void *via_HmmRealloc(size_t a, size_t n)
{
    (void)a;
    return HmmRealloc(NULL, n);
}
#if HMM_TEST_INTERPOSE
static void *via_malloc(size_t a, size_t n)
{
    (void)a;
    return malloc(n);
}
static void *via_calloc_1n(size_t a, size_t n)
{
    (void)a;
    return calloc(1, n);
}
static void *via_calloc_n1(size_t a, size_t n)
{
    (void)a;
    return calloc(n, 1);
}
static void *via_realloc(size_t a, size_t n)
{
    (void)a;
    return realloc(NULL, n);
}
static void *via_reallocarray(size_t a, size_t n)
{
    (void)a;
    return reallocarray(NULL, n, 1);
}
static void *via_valloc(size_t a, size_t n)
{
    (void)a;
    return valloc(n);
}
static void *via_pvalloc(size_t a, size_t n)
{
    (void)a;
    return pvalloc(n);
}
#endif

static const struct entry {
    const char *name;
    alloc_fn fn;
    size_t align; /* the alignment it gives; 0: the one asked for */
    bool pages;   /* rounds the size up to whole pages */
} entries[] = {
    {"HmmAlloc", via_HmmAlloc, 16, false},
    {"HmmCalloc(1, n)", via_HmmCalloc_1n, 16, false},
    {"HmmCalloc(n, 1)", via_HmmCalloc_n1, 16, false},
    {"HmmRealloc(NULL, n)", via_HmmRealloc, 16, false},
    {"HmmAlignedAlloc", HmmAlignedAlloc, 0, false},
#if HMM_TEST_INTERPOSE
    {"malloc", via_malloc, 16, false},
    {"calloc(1, n)", via_calloc_1n, 16, false},
    {"calloc(n, 1)", via_calloc_n1, 16, false},
    {"realloc(NULL, n)", via_realloc, 16, false},
    {"reallocarray(NULL, n, 1)", via_reallocarray, 16, false},
    {"aligned_alloc", via_aligned_alloc, 0, false},
    {"posix_memalign", via_posix_memalign, 0, false},
    {"memalign", via_memalign, 0, false},
    {"valloc", via_valloc, 4096, false},
    {"pvalloc", via_pvalloc, 4096, true},
#endif
};
#define N_ENTRIES (sizeof entries / sizeof entries[0])

#define PAGE ((size_t)4096)
#define CHUNK (4 * MiB)

/* 0, 1, and each boundary -1, +0, +1. */
static const size_t sizes[] = {
    0,
    1,
    KiB - 1,
    KiB,
    KiB + 1,
    16 * KiB - 1,
    16 * KiB,
    16 * KiB + 1,
    2 * MiB - 1,
    2 * MiB,
    2 * MiB + 1,
    CHUNK - PAGE - 1,
    CHUNK - PAGE,
    CHUNK - PAGE + 1,
    CHUNK - 1,
    CHUNK,
    CHUNK + 1,
};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* Sizes no allocation can have: the request must fail with ENOMEM. */
static const size_t too_big[] = {
    PTRDIFF_MAX - 2 * CHUNK,
    PTRDIFF_MAX - CHUNK,
    PTRDIFF_MAX - PAGE + 1,
    PTRDIFF_MAX,
    (size_t)PTRDIFF_MAX + 1,
    SIZE_MAX - 2 * CHUNK,
    SIZE_MAX - PAGE + 2,
    SIZE_MAX - 15,
    SIZE_MAX,
};
#define N_TOO_BIG (sizeof too_big / sizeof too_big[0])

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

static bool overlap(const char *p, size_t n, const char *q, size_t m)
{
    return p < q + m && q < p + n;
}

/* Reports a problem, only the first few of each test in full. */
static unsigned problems;
#define PROBLEM(...)                                                                               \
    do {                                                                                           \
        if (problems++ < 4)                                                                        \
            diag(__VA_ARGS__);                                                                     \
    } while (0)

/* One request through e, and the blocks allocated right after it. */
static void check_one(const struct entry *e, size_t align, size_t size)
{
    size_t want_align = e->align ? e->align : max_size(align, 16);
    size_t want_usable = max_size(size, 1);
    if (e->pages)
        want_usable = (want_usable + PAGE - 1) & ~(PAGE - 1);
    errno = 0;
    char *p = e->fn(align, size);
    if (!p) {
        PROBLEM("%s(align %zu, size %zu): NULL, errno %d", e->name, align, size, errno);
        return;
    }
    size_t usable = HmmUsableSize(p);
    if (!aligned_to(p, want_align) || usable < want_usable) {
        /* Left allocated: freeing a misplaced block may abort. */
        PROBLEM("%s(align %zu, size %zu) = %p: usable %zu", e->name, align, size, (void *)p,
                usable);
        return;
    }
    uint64_t tag = mix64(size * 131 + align);
    sparse_fill(p, usable, tag);

    char *next[3] = {e->fn(align, size), HmmAlloc(64), HmmAlloc(100 * KiB)};
    for (int i = 0; i < 3; i++) {
        if (!next[i]) {
            PROBLEM("%s(align %zu, size %zu): neighbour %d not allocated", e->name, align, size, i);
            continue;
        }
        size_t n = HmmUsableSize(next[i]);
        if (overlap(p, usable, next[i], n))
            PROBLEM("%s(align %zu, size %zu) = %p (usable %zu) overlaps %p (usable %zu)", e->name,
                    align, size, (void *)p, usable, (void *)next[i], n);
        else
            sparse_fill(next[i], n, tag + 1 + (uint64_t)i);
    }
    long at = sparse_check(p, usable, usable, tag);
    if (at >= 0)
        PROBLEM("%s(align %zu, size %zu): byte %ld changed by a neighbour", e->name, align, size,
                at);
    HmmFree(p);
    for (int i = 0; i < 3; i++)
        HmmFree(next[i]);
}

/* Blocks of every kind allocated, filled, checked and freed: a chunk map
 * broken by an earlier request makes one of these frees abort. */
static void churn(const char *after)
{
    enum { N = 64 };
    static const size_t kinds[] = {16, 200, 5000, 100 * KiB, 3 * MiB};
    char *b[N];
    for (size_t i = 0; i < N; i++) {
        size_t n = kinds[i % 5];
        b[i] = HmmAlloc(n);
        if (!b[i])
            bail("after %s: HmmAlloc(%zu) failed", after, n);
        sparse_fill(b[i], n, i);
    }
    for (size_t i = 0; i < N; i++) {
        if (sparse_check(b[i], kinds[i % 5], kinds[i % 5], i) >= 0)
            PROBLEM("after %s: a block of %zu bytes changed", after, kinds[i % 5]);
        HmmFree(b[i]);
    }
#if !HMM_TEST_INTERPOSE
    hmm_check_heap();
#endif
}

static void test_entry(const struct entry *e)
{
    size_t cases = 0;
    problems = 0;
    size_t first = e->align ? e->align : 16, last = e->align ? e->align : 8 * MiB;
    for (size_t align = first; align <= last; align <<= 1)
        for (size_t s = 0; s < N_SIZES; s++, cases++)
            check_one(e, align, sizes[s]);
    churn(e->name);
    is_int(0, problems,
           "%s: %zu requests (size 0 and around 1K/16K/2M/4M-4K/4M, alignment %zu..%zu)", e->name,
           cases, first, last);

    problems = 0;
    cases = 0;
    for (size_t align = first; align <= last; align <<= 2)
        for (size_t s = 0; s < N_TOO_BIG; s++, cases++) {
            errno = 0;
            void *p = e->fn(align, too_big[s]);
            if (p || errno != ENOMEM) {
                PROBLEM("%s(align %zu, size %#zx) = %p, errno %d", e->name, align, too_big[s], p,
                        errno);
                HmmFree(p);
            }
        }
    churn(e->name);
    is_int(0, problems, "%s: %zu requests near PTRDIFF_MAX and SIZE_MAX fail with ENOMEM", e->name,
           cases);
}

/* Expects p to be a failure with ENOMEM (errno as the call left it). */
static void expect_enomem(void *p, const char *call, size_t a, size_t b)
{
    if (p || errno != ENOMEM) {
        PROBLEM("%s(%#zx, %#zx) = %p, errno %d", call, a, b, p, errno);
        HmmFree(p);
    }
}

static void test_overflow(void)
{
    static const size_t pairs[][2] = {
        {SIZE_MAX / 2 + 1, 2},
        {2, SIZE_MAX / 2 + 1},
        {PTRDIFF_MAX / 2 + 1, 2},
        {SIZE_MAX, SIZE_MAX},
        {(size_t)1 << 32, (size_t)1 << 32},
    };
    problems = 0;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t a = pairs[i][0], b = pairs[i][1];
        errno = 0;
        expect_enomem(HmmCalloc(a, b), "HmmCalloc", a, b);
#if HMM_TEST_INTERPOSE
        errno = 0;
        expect_enomem(calloc(a, b), "calloc", a, b);
        errno = 0;
        expect_enomem(reallocarray(NULL, a, b), "reallocarray(NULL)", a, b);
#endif
    }
    is_int(0, problems, "calloc and reallocarray: products that overflow or pass PTRDIFF_MAX");
}

/* realloc(p, 0) frees p and returns NULL (glibc's behaviour); realloc to a
 * size no block can have fails with ENOMEM and leaves p as it was; realloc
 * between any two edge sizes keeps the contents. */
static void test_realloc(void)
{
    problems = 0;
    for (size_t s = 1; s < N_SIZES; s++) {
        size_t n = sizes[s];
        char *p = HmmAlloc(n);
        if (!p)
            bail("HmmAlloc(%zu) failed", n);
        fill(p, n, n);
        for (size_t b = 0; b < N_TOO_BIG; b++) {
            errno = 0;
            if (HmmRealloc(p, too_big[b]) != NULL || errno != ENOMEM)
                PROBLEM("HmmRealloc(%zu-byte block, %#zx) did not fail with ENOMEM", n, too_big[b]);
        }
        if (check_fill(p, n, n) >= 0)
            PROBLEM("a failed HmmRealloc changed a %zu-byte block", n);
        for (size_t t = 1; t < N_SIZES; t++) {
            size_t m = sizes[t];
            char *q = HmmRealloc(p, m);
            if (!q)
                bail("HmmRealloc(%zu -> %zu) failed", n, m);
            if (check_fill(q, n < m ? n : m, n) >= 0 || HmmUsableSize(q) < m)
                PROBLEM("HmmRealloc(%zu -> %zu) lost contents or size", n, m);
            fill(q, m, n);
            p = HmmRealloc(q, n);
            if (!p)
                bail("HmmRealloc(%zu -> %zu) failed", m, n);
            fill(p, n, n);
        }
        if (HmmRealloc(p, 0) != NULL)
            PROBLEM("HmmRealloc(%zu-byte block, 0) did not return NULL", n);
        void *a = HmmAlignedAlloc(CHUNK, n - 1);
#if HMM_TEST_INTERPOSE
        if (!a || realloc(a, 0) != NULL)
#else
        if (!a || HmmRealloc(a, 0) != NULL)
#endif
            PROBLEM("realloc(4 MiB-aligned block of %zu, 0) did not return NULL", n - 1);
    }
    churn("realloc");
    is_int(0, problems, "realloc: to 0 frees, too big fails with ENOMEM, edge sizes keep contents");
}

/* The reported case: a 4 MiB-aligned block of size 0 used to be placed one
 * past the end of its own mapping, where the next chunk mapped often
 * landed; freeing blocks of that chunk then aborted.  A few rounds, as the
 * kernel does not always map the next chunk there; in a child, so that an
 * abort is reported. */
static int zero_then_chunk(void *arg)
{
    (void)arg;
    enum { ROUNDS = 8, N = 48 }; /* N blocks of 100 KiB need a new chunk */
    static char *p[ROUNDS], *b[ROUNDS][N];
    /* The heap made first, so the next mapping is the chunk. */
    HmmFree(HmmAlloc(100 * KiB));
    for (size_t r = 0; r < ROUNDS; r++) {
        if (!(p[r] = HmmAlignedAlloc(CHUNK, 0)))
            return 2;
        for (size_t i = 0; i < N; i++)
            if (!(b[r][i] = HmmAlloc(100 * KiB)))
                return 3;
    }
    for (size_t r = 0; r < ROUNDS; r++) {
        HmmFree(p[r]);
        for (size_t i = 0; i < N; i++)
            HmmFree(b[r][i]);
    }
    return 0;
}

static void test_zero_then_chunk(void)
{
    char err[512];
    int status = tap_run_child(zero_then_chunk, NULL, err, sizeof err);
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "HmmAlignedAlloc(4 MiB, 0), then chunks of 100 KiB blocks: all free cleanly"))
        diag("child status %#x, stderr: %s", (unsigned)status, err);
}

int main(void)
{
    plan_lazy();
    test_zero_then_chunk();
    for (size_t e = 0; e < N_ENTRIES; e++)
        test_entry(&entries[e]);
    test_overflow();
    test_realloc();
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
