/*
 * fuzz-model.c - the shadow model of the fuzzers (see fuzz-model.h): which
 * call to make, with which size and alignment, and what must hold after it.
 *
 * Every live block carries the pattern of (tag, offset) over its usable
 * size (sparsely above 64 KiB, see sparse_fill), checked whole before it
 * is freed or resized and, as a prefix, after a realloc.  Live blocks are
 * also kept as address intervals in a sorted array, so that a block handed
 * out twice or overlapping another is caught when it is inserted.  The
 * model's own state is static: it takes nothing from the allocator under
 * test.
 */
#define _GNU_SOURCE
#include "fuzz-model.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/heap.h"

#define FZ_MAX_SIZE ((size_t)8 << 20)
/* Above this many live bytes the model only frees. */
#define FZ_MAX_LIVE ((size_t)512 << 20)

typedef struct fz_block {
    char *p;      /* NULL: the slot is empty */
    size_t size;  /* bytes asked for */
    size_t fill;  /* bytes carrying the pattern: the usable size */
    size_t align; /* alignment asked of an aligned_alloc-like call, else 0 */
    uint64_t tag;
} fz_block;

typedef struct fz_slot {
    pthread_mutex_t lock;
    fz_block b;
} fz_slot;

typedef struct fz_range {
    uintptr_t start, end;
} fz_range;

static fz_slot slots[FZ_MAX_SLOTS];
static unsigned nslots;
static void (*finding_hook)(void);
static size_t live_bytes;

/* Live blocks by start address. */
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;
static fz_range ranges[FZ_MAX_SLOTS];
static size_t nranges;

/* Sizes where the allocator changes its mind: every size class's upper
 * bound, the fast-path table's end, a page, the small/large and
 * large/huge limits, a chunk and two. */
static size_t boundaries[64];
static size_t nboundaries;

__attribute__((format(printf, 1, 2), noreturn)) static void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: FINDING: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    finding_hook();
    abort();
}

void fz_init(unsigned n, void (*on_finding)(void))
{
    nslots = n < 1 ? 1 : n > FZ_MAX_SLOTS ? FZ_MAX_SLOTS : n;
    finding_hook = on_finding;
    for (unsigned i = 0; i < nslots; i++)
        pthread_mutex_init(&slots[i].lock, NULL);
    nboundaries = 0;
    for (size_t s = 16; s <= 128; s += 16)
        boundaries[nboundaries++] = s;
    for (size_t d = 128; d < HMM_SMALL_MAX; d *= 2)
        for (size_t k = 5; k <= 8; k++)
            boundaries[nboundaries++] = d * k / 4;
    const size_t more[] = {HMM_TABLE_MAX,  HMM_PAGE_SIZE,
                           64 * KiB,       HMM_LARGE_MAX / 2,
                           HMM_LARGE_MAX,  HMM_CHUNK_SIZE - HMM_PAGE_SIZE,
                           HMM_CHUNK_SIZE, FZ_MAX_SIZE - HMM_PAGE_SIZE};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        boundaries[nboundaries++] = more[i];
}

/* ---- choices ---- */

/* Uniform in [0, n) for n > 0, from as few input bytes as n needs. */
static uint64_t fz_below(fz_source *src, uint64_t n)
{
    if (!src->data)
        return rng_below(&src->r, n);
    uint64_t v = 0;
    for (uint64_t span = 1; span < n && span != 0; span <<= 8)
        v = v << 8 | (src->pos < src->len ? src->data[src->pos++] : 0);
    return v % n;
}

static size_t pick_size(fz_source *src)
{
    uint64_t kind = fz_below(src, 100);
    size_t s;
    if (kind < 5)
        return 0;
    if (kind < 55) {
        static const int deltas[] = {0, 0, 0, -1, 1, -15, 15, -16, 16, -17, 17};
        s = boundaries[fz_below(src, nboundaries)];
        uint64_t d = fz_below(src, sizeof deltas / sizeof deltas[0] + 1);
        s += d < sizeof deltas / sizeof deltas[0] ? (size_t)(ptrdiff_t)deltas[d]
                                                  : (size_t)fz_below(src, 129) - 64;
    } else if (kind < 80) {
        s = fz_below(src, HMM_TABLE_MAX + 1);
    } else if (kind < 97) {
        /* Log-uniform: every range gets its share. */
        s = fz_below(src, (uint64_t)1 << (1 + fz_below(src, 23)));
    } else {
        s = fz_below(src, FZ_MAX_SIZE + 1);
    }
    return s > FZ_MAX_SIZE ? FZ_MAX_SIZE : s;
}

/* A power of two from 1 to 8 MiB, mostly at most a page. */
static size_t pick_align(fz_source *src, unsigned min_shift)
{
    unsigned shift =
        fz_below(src, 4) == 0 ? 13 + (unsigned)fz_below(src, 11) : (unsigned)fz_below(src, 13);
    return (size_t)1 << (shift < min_shift ? min_shift : shift);
}

/* ---- checks ---- */

static size_t usable_of(fz_source *src, void *p)
{
#if HMM_TEST_INTERPOSE
    if (fz_below(src, 2))
        return malloc_usable_size(p);
#else
    (void)src;
#endif
    return HmmUsableSize(p);
}

/* Zero-checks [0, n): whole up to 64 KiB, above that the first and last
 * 4 KiB and a word of every page (a page left dirty shows anywhere). */
static bool zeroed(const char *p, size_t n)
{
    if (n <= SPARSE_MIN)
        return all_bytes(p, n, 0);
    if (!all_bytes(p, 4096, 0) || !all_bytes(p + n - 4096, 4096, 0))
        return false;
    for (size_t off = 4096; off + 8 <= n; off += 4096)
        if (!all_bytes(p + off, 8, 0))
            return false;
    return true;
}

static void check_block(const fz_block *b, size_t keep, const char *when)
{
    long at = sparse_check(b->p, b->fill, keep, b->tag);
    if (at >= 0)
        fz_fail("%s: block %p (%zu bytes asked, %zu usable, tag %016llx) damaged at offset %ld",
                when, (void *)b->p, b->size, b->fill, (unsigned long long)b->tag, at);
}

/* Index of the first range starting at or after a. */
static size_t ranges_find(uintptr_t a)
{
    size_t lo = 0, hi = nranges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ranges[mid].start < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A zero-sized block still takes one byte: its pointer must be unique. */
static void ranges_insert(const char *p, size_t usable, const char *what)
{
    fz_range r = {(uintptr_t)p, (uintptr_t)p + (usable ? usable : 1)};
    pthread_mutex_lock(&ranges_lock);
    size_t i = ranges_find(r.start);
    const fz_range *clash = i < nranges && ranges[i].start < r.end ? &ranges[i]
                            : i > 0 && ranges[i - 1].end > r.start ? &ranges[i - 1]
                                                                   : NULL;
    if (clash) {
        fz_range c = *clash;
        pthread_mutex_unlock(&ranges_lock);
        fz_fail("%s returned [%#lx, %#lx), overlapping the live block [%#lx, %#lx)", what,
                (unsigned long)r.start, (unsigned long)r.end, (unsigned long)c.start,
                (unsigned long)c.end);
    }
    memmove(&ranges[i + 1], &ranges[i], (nranges - i) * sizeof ranges[0]);
    ranges[i] = r;
    nranges++;
    pthread_mutex_unlock(&ranges_lock);
}

/* Before the block is freed or resized: afterwards its memory may be
 * another thread's. */
static void ranges_remove(const char *p)
{
    pthread_mutex_lock(&ranges_lock);
    size_t i = ranges_find((uintptr_t)p);
    if (i == nranges || ranges[i].start != (uintptr_t)p) {
        pthread_mutex_unlock(&ranges_lock);
        fz_fail("model: live block %p missing from the range table", (void *)p);
    }
    memmove(&ranges[i], &ranges[i + 1], (nranges - i - 1) * sizeof ranges[0]);
    nranges--;
    pthread_mutex_unlock(&ranges_lock);
}

/* Checks a block a call just returned and makes it live in slot s:
 * usable size, alignment (align 0: the default 16), zeroing, overlap. */
static void adopt(fz_source *src, fz_slot *s, const char *what, char *p, size_t size, size_t align,
                  bool zero, uint64_t tag)
{
    if (!p)
        fz_fail("%s: NULL (errno %d) for %zu bytes aligned to %zu", what, errno, size, align);
    size_t usable = usable_of(src, p);
    if (usable < size)
        fz_fail("%s: usable size %zu of %p is below the %zu bytes asked", what, usable, (void *)p,
                size);
    if (!aligned_to(p, align > HMM_ALIGN ? align : HMM_ALIGN))
        fz_fail("%s: %p is not aligned to %zu", what, (void *)p, align);
    if (zero && !zeroed(p, size))
        fz_fail("%s: %p (%zu bytes) is not zeroed", what, (void *)p, size);
    ranges_insert(p, usable, what);
    sparse_fill(p, usable, tag);
    s->b = (fz_block){p, size, usable, align, tag};
    __atomic_add_fetch(&live_bytes, usable, __ATOMIC_RELAXED);
}

static void forget(fz_slot *s)
{
    __atomic_sub_fetch(&live_bytes, s->b.fill, __ATOMIC_RELAXED);
    s->b.p = NULL;
}

/* ---- calls ---- */

enum fz_alloc_call {
    A_HMM_ALLOC,
    A_HMM_CALLOC,
    A_HMM_ALIGNED,
    A_HMM_REALLOC_NULL,
#if HMM_TEST_INTERPOSE
    A_MALLOC,
    A_CALLOC,
    A_REALLOC_NULL,
    A_POSIX_MEMALIGN,
    A_ALIGNED_ALLOC,
    A_MEMALIGN,
    A_VALLOC,
    A_PVALLOC,
#endif
    A_COUNT
};

static void do_alloc(fz_source *src, fz_slot *s)
{
    size_t size = pick_size(src), align = 0, expect_align = 0;
    uint64_t tag = fz_below(src, UINT64_MAX);
    size_t nmemb = 1 + fz_below(src, 4), elem = size / nmemb;
    char *p = NULL;
    const char *what;
    bool zero = false;
    switch ((enum fz_alloc_call)fz_below(src, A_COUNT)) {
    case A_HMM_ALLOC:
        what = "HmmAlloc";
        p = HmmAlloc(size);
        break;
    case A_HMM_CALLOC:
        what = "HmmCalloc";
        size = nmemb * elem;
        p = HmmCalloc(nmemb, elem);
        zero = true;
        break;
    case A_HMM_ALIGNED:
        what = "HmmAlignedAlloc";
        align = expect_align = pick_align(src, 0);
        p = HmmAlignedAlloc(align, size);
        break;
    case A_HMM_REALLOC_NULL:
        what = "HmmRealloc(NULL)";
        p = HmmRealloc(NULL, size);
        break;
#if HMM_TEST_INTERPOSE
    case A_MALLOC:
        what = "malloc";
        p = malloc(size);
        break;
    case A_CALLOC:
        what = "calloc";
        size = nmemb * elem;
        p = calloc(nmemb, elem);
        zero = true;
        break;
    case A_REALLOC_NULL:
        what = "realloc(NULL)";
        p = realloc(NULL, size);
        break;
    case A_POSIX_MEMALIGN: {
        what = "posix_memalign";
        align = expect_align = pick_align(src, 3);
        void *q = NULL;
        int rc = posix_memalign(&q, align, size);
        if (rc != 0)
            fz_fail("posix_memalign(%zu, %zu) = %d", align, size, rc);
        p = q;
        break;
    }
    case A_ALIGNED_ALLOC:
        what = "aligned_alloc";
        align = expect_align = pick_align(src, 0);
        p = aligned_alloc(align, size);
        break;
    case A_MEMALIGN:
        /* An alignment that is not a power of two is rounded up. */
        what = "memalign";
        align = expect_align = pick_align(src, 1);
        p = memalign(fz_below(src, 4) ? align : align / 2 + 1 + fz_below(src, align / 2), size);
        break;
    case A_VALLOC:
        what = "valloc";
        expect_align = HMM_PAGE_SIZE;
        p = valloc(size);
        break;
    case A_PVALLOC:
        what = "pvalloc";
        expect_align = HMM_PAGE_SIZE;
        p = pvalloc(size);
        size = hmm_align_up(size ? size : 1, HMM_PAGE_SIZE);
        break;
#endif
    default:
        abort();
    }
    adopt(src, s, what, p, size, expect_align, zero, tag);
    s->b.align = align;
}

enum fz_free_call {
    F_HMM_FREE,
#if HMM_TEST_INTERPOSE
    F_FREE,
    F_FREE_SIZED,
    F_FREE_ALIGNED_SIZED,
#endif
    F_COUNT
};

static void do_free(fz_source *src, fz_slot *s)
{
    fz_block b = s->b;
    check_block(&b, b.fill, "before free");
    ranges_remove(b.p);
    forget(s);
    switch ((enum fz_free_call)fz_below(src, F_COUNT)) {
#if HMM_TEST_INTERPOSE
    case F_FREE:
        free(b.p);
        break;
    case F_FREE_SIZED:
        free_sized(b.p, b.size);
        break;
    case F_FREE_ALIGNED_SIZED:
        /* Only for blocks of aligned_alloc and its kin (C23). */
        if (b.align) {
            free_aligned_sized(b.p, b.align, b.size);
            break;
        }
        free(b.p);
        break;
#endif
    default:
        HmmFree(b.p);
    }
}

/* A new size near the old one (in-place growing and shrinking) or anywhere. */
static size_t pick_resize(fz_source *src, size_t old)
{
    if (fz_below(src, 3))
        return pick_size(src);
    size_t step = fz_below(src, 2) ? 64 : 2 * HMM_PAGE_SIZE;
    size_t s = old + fz_below(src, 2 * step + 1) - step;
    return s > FZ_MAX_SIZE ? (old < step ? 0 : FZ_MAX_SIZE) : s;
}

static void do_realloc(fz_source *src, fz_slot *s)
{
    fz_block b = s->b;
    size_t size = pick_resize(src, b.size), nmemb = 1 + fz_below(src, 3);
    const char *what;
    check_block(&b, b.fill, "before realloc");
    ranges_remove(b.p);
    forget(s);
    char *q;
    switch (fz_below(src, 1 + 2 * HMM_TEST_INTERPOSE)) {
#if HMM_TEST_INTERPOSE
    case 1:
        what = "realloc";
        q = realloc(b.p, size);
        break;
    case 2:
        what = "reallocarray";
        size = size / nmemb * nmemb;
        q = reallocarray(b.p, nmemb, size / nmemb);
        break;
#endif
    default:
        (void)nmemb;
        what = "HmmRealloc";
        q = HmmRealloc(b.p, size);
    }
    if (size == 0) {
        /* As glibc: the block is freed and NULL returned. */
        if (q)
            fz_fail("%s(%p, 0) returned %p, not NULL", what, (void *)b.p, (void *)q);
        return;
    }
    if (!q)
        fz_fail("%s(%p, %zu): NULL (errno %d)", what, (void *)b.p, size, errno);
    /* Every usable byte may have been written, so realloc must carry it. */
    fz_block moved = b;
    moved.p = q;
    check_block(&moved, b.fill < size ? b.fill : size, what);
    adopt(src, s, what, q, size, 0, false, fz_below(src, UINT64_MAX));
}

/* The usable size of a live block does not change while it lives. */
static void do_inspect(fz_source *src, fz_slot *s)
{
    size_t usable = usable_of(src, s->b.p);
    if (usable != s->b.fill)
        fz_fail("usable size of %p went from %zu to %zu", (void *)s->b.p, s->b.fill, usable);
    check_block(&s->b, s->b.fill, "inspect");
}

static void expect_error(const char *what, void *p, int err)
{
    if (p || errno != err)
        fz_fail("%s: %p with errno %d, expected NULL with errno %d", what, p, errno, err);
}

/* Requests that must fail: sizes no machine holds, products that overflow,
 * alignments that are not powers of two; a block being resized stays. */
static void do_impossible(fz_source *src, fz_slot *s)
{
    static const size_t absurd[] = {(size_t)PTRDIFF_MAX + 1, SIZE_MAX, SIZE_MAX - 4095,
                                    (size_t)1 << 62};
    size_t big = absurd[fz_below(src, sizeof absurd / sizeof absurd[0])];
    errno = 0;
    switch (fz_below(src, 6 + 5 * HMM_TEST_INTERPOSE)) {
    case 0:
        expect_error("HmmAlloc(absurd)", HmmAlloc(big), ENOMEM);
        break;
    case 1:
        expect_error("HmmCalloc(overflow)", HmmCalloc(big / 2 + 1, 2 + fz_below(src, 16)), ENOMEM);
        break;
    case 2:
        expect_error("HmmAlignedAlloc(absurd)", HmmAlignedAlloc(pick_align(src, 0), big), ENOMEM);
        break;
    case 3:
        expect_error("HmmAlignedAlloc(3)", HmmAlignedAlloc(3 + 2 * fz_below(src, 100), 16), EINVAL);
        break;
    case 4:
        expect_error("HmmAlignedAlloc(0)", HmmAlignedAlloc(0, 16), EINVAL);
        break;
#if HMM_TEST_INTERPOSE
    case 6:
        expect_error("malloc(absurd)", malloc(big), ENOMEM);
        break;
    case 7:
        expect_error("calloc(overflow)", calloc(2 + fz_below(src, 16), big / 2 + 1), ENOMEM);
        break;
    case 8:
        expect_error("aligned_alloc(absurd)", aligned_alloc(pick_align(src, 0), big), ENOMEM);
        break;
    case 9: {
        void *q = NULL;
        int rc = posix_memalign(&q, 24, 16);
        if (rc != EINVAL || q)
            fz_fail("posix_memalign(24): %d, expected EINVAL", rc);
        rc = posix_memalign(&q, pick_align(src, 3), big);
        if (rc != ENOMEM || q)
            fz_fail("posix_memalign(absurd): %d, expected ENOMEM", rc);
        break;
    }
    case 10:
        if (s->b.p) {
            check_block(&s->b, s->b.fill, "before reallocarray(overflow)");
            expect_error("reallocarray(overflow)", reallocarray(s->b.p, big / 2 + 1, 4), ENOMEM);
            check_block(&s->b, s->b.fill, "after reallocarray(overflow)");
        }
        break;
#endif
    default:
        if (s->b.p) {
            check_block(&s->b, s->b.fill, "before HmmRealloc(absurd)");
            expect_error("HmmRealloc(absurd)", HmmRealloc(s->b.p, big), ENOMEM);
            check_block(&s->b, s->b.fill, "after HmmRealloc(absurd)");
        }
    }
}

void fz_step(fz_source *src)
{
    fz_slot *s = &slots[fz_below(src, nslots)];
    uint64_t what = fz_below(src, 100);
    pthread_mutex_lock(&s->lock);
    if (what < 2) {
        do_impossible(src, s);
    } else if (!s->b.p) {
        if (__atomic_load_n(&live_bytes, __ATOMIC_RELAXED) < FZ_MAX_LIVE)
            do_alloc(src, s);
    } else if (what < 50 || __atomic_load_n(&live_bytes, __ATOMIC_RELAXED) >= FZ_MAX_LIVE) {
        do_free(src, s);
    } else if (what < 80) {
        do_realloc(src, s);
    } else {
        do_inspect(src, s);
    }
    pthread_mutex_unlock(&s->lock);
}

void fz_drain(void)
{
    fz_source src = {0};
    rng_seed(&src.r, 1);
    for (unsigned i = 0; i < nslots; i++) {
        pthread_mutex_lock(&slots[i].lock);
        if (slots[i].b.p)
            do_free(&src, &slots[i]);
        pthread_mutex_unlock(&slots[i].lock);
    }
}
