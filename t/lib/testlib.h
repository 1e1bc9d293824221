/*
 * testlib.h - helpers shared by the allocator tests: a seeded PRNG, content
 * patterns, and a table of allocation interfaces so that each contract is
 * checked through both the Hmm* API and (when libhmm replaces it) the
 * malloc family.
 */
#ifndef HMM_TESTLIB_H
#define HMM_TESTLIB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hmm.h"

#ifndef HMM_TEST_INTERPOSE
#define HMM_TEST_INTERPOSE 0
#endif

#if HMM_TEST_INTERPOSE
#include <malloc.h>
/* Newer than Debian 12's glibc headers; libhmm defines them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
#endif

#define KiB ((size_t)1024)
#define MiB (KiB * 1024)

/* xorshift64*: fast, seedable, good enough for test sequences. */
typedef struct rng {
    uint64_t s;
} rng;

static inline void rng_seed(rng *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ULL; }

static inline uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* The pattern of a block tagged tag: word j is mix64(tag ^ j * K), so a
 * block copied to the wrong offset or mixed with another block is noticed. */
static inline uint64_t pattern_word(uint64_t tag, size_t j)
{
    return mix64(tag ^ (j * 0x9e3779b97f4a7c15ULL));
}

/* Writes the pattern over bytes [from, to) of the block at p. */
static inline void fill_range(void *p, size_t from, size_t to, uint64_t tag)
{
    unsigned char *b = p;
    size_t i = from;
    while (i < to && (i & 7)) {
        uint64_t w = pattern_word(tag, i >> 3);
        b[i] = (unsigned char)(w >> (8 * (i & 7)));
        i++;
    }
    for (; i + 8 <= to; i += 8) {
        uint64_t w = pattern_word(tag, i >> 3);
        memcpy(b + i, &w, 8);
    }
    for (; i < to; i++) {
        uint64_t w = pattern_word(tag, i >> 3);
        b[i] = (unsigned char)(w >> (8 * (i & 7)));
    }
}

/* Offset of the first byte in [from, to) that differs from the pattern, or -1. */
static inline long check_range(const void *p, size_t from, size_t to, uint64_t tag)
{
    const unsigned char *b = p;
    for (size_t i = from; i < to;) {
        uint64_t w = pattern_word(tag, i >> 3);
        if ((i & 7) == 0 && i + 8 <= to) {
            uint64_t got;
            memcpy(&got, b + i, 8);
            if (got == w) {
                i += 8;
                continue;
            }
        }
        if (b[i] != (unsigned char)(w >> (8 * (i & 7))))
            return (long)i;
        i++;
    }
    return -1;
}

static inline void fill(void *p, size_t n, uint64_t tag) { fill_range(p, 0, n, tag); }
static inline long check_fill(const void *p, size_t n, uint64_t tag)
{
    return check_range(p, 0, n, tag);
}

/* Blocks above SPARSE_MIN get the pattern only on their first and last
 * 4 KiB and on 64 bytes of every 64 KiB: enough to catch a lost or moved
 * block without paying a page fault for every page of it. */
#define SPARSE_MIN ((size_t)65536)

static inline void sparse_fill(void *p, size_t n, uint64_t tag)
{
    if (n <= SPARSE_MIN) {
        fill_range(p, 0, n, tag);
        return;
    }
    fill_range(p, 0, 4096, tag);
    for (size_t off = SPARSE_MIN; off + 64 <= n; off += SPARSE_MIN)
        fill_range(p, off, off + 64, tag);
    fill_range(p, n - 4096, n, tag);
}

/* Checks the bytes below keep of what sparse_fill(p, n, tag) wrote (keep <=
 * n: after a shrinking realloc only a prefix is left).  Returns the offset
 * of the first wrong byte, or -1. */
static inline long sparse_check(const void *p, size_t n, size_t keep, uint64_t tag)
{
    if (keep > n)
        keep = n;
    if (n <= SPARSE_MIN)
        return check_range(p, 0, keep, tag);
    long at = check_range(p, 0, keep < 4096 ? keep : 4096, tag);
    for (size_t off = SPARSE_MIN; at < 0 && off + 64 <= n && off + 64 <= keep; off += SPARSE_MIN)
        at = check_range(p, off, off + 64, tag);
    if (at < 0 && keep > n - 4096)
        at = check_range(p, n - 4096, keep, tag);
    return at;
}

static inline bool all_bytes(const void *p, size_t n, unsigned char v)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return false;
    return true;
}

static inline bool aligned_to(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* One allocation interface, as function pointers. */
typedef struct alloc_api {
    const char *name; /* "Hmm" or "malloc": prefixed to test names */
    void *(*alloc)(size_t);
    void (*release)(void *);
    void *(*zalloc)(size_t, size_t);
    void *(*resize)(void *, size_t);
    void *(*aligned)(size_t, size_t);
    size_t (*usable)(const void *);
} alloc_api;

#if HMM_TEST_INTERPOSE
static inline size_t libc_usable(const void *p) { return malloc_usable_size((void *)p); }
#endif

static const alloc_api test_apis[] = {
    {"Hmm", HmmAlloc, HmmFree, HmmCalloc, HmmRealloc, HmmAlignedAlloc, HmmUsableSize},
#if HMM_TEST_INTERPOSE
    {"malloc", malloc, free, calloc, realloc, aligned_alloc, libc_usable},
#endif
};
#define N_APIS (sizeof test_apis / sizeof test_apis[0])

/* The aligned-allocation entry points, each as fn(align, size). */
typedef struct aligned_api {
    const char *name;
    void *(*fn)(size_t align, size_t size);
    size_t min_align; /* smallest alignment the function accepts */
} aligned_api;

#if HMM_TEST_INTERPOSE
/* NULL with errno set on failure, like the others. */
static inline void *via_posix_memalign(size_t align, size_t size)
{
    void *p = NULL;
    int r = posix_memalign(&p, align, size);
    if (r != 0) {
        errno = r;
        return NULL;
    }
    return p;
}
static inline void *via_memalign(size_t align, size_t size) { return memalign(align, size); }
static inline void *via_aligned_alloc(size_t align, size_t size)
{
    return aligned_alloc(align, size);
}
#endif

static const aligned_api test_aligned_apis[] = {
    {"HmmAlignedAlloc", HmmAlignedAlloc, 1},
#if HMM_TEST_INTERPOSE
    {"aligned_alloc", via_aligned_alloc, 1},
    {"posix_memalign", via_posix_memalign, sizeof(void *)},
    {"memalign", via_memalign, 1},
#endif
};
#define N_ALIGNED_APIS (sizeof test_aligned_apis / sizeof test_aligned_apis[0])

#endif
