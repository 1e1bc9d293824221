/*
 * bench.h - helpers shared by libhmm's benchmark programs.
 *
 * Every program takes an optional first argument, a scale factor (default
 * 1.0) that multiplies its amount of work, checks its own results and exits
 * with status 1 on a wrong answer.  On success it prints one line
 * "<name> ok <checksum>" on stdout; the checksum depends only on the work
 * done (never on addresses or timing), so bench/run-bench can compare it
 * across allocators and against a reference run.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#define BENCH_UNUSED __attribute__((unused))

/* Fails the run: one line on stderr, exit status 1. */
#define bench_check(cond, ...)                                              \
    do {                                                                    \
        if (__builtin_expect(!(cond), 0)) {                                 \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,          \
                    __LINE__, #cond);                                       \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

/* Scale factor from argv[1] (default 1.0). */
static BENCH_UNUSED double bench_scale(int argc, char **argv)
{
    if (argc < 2)
        return 1.0;
    char *end;
    double s = strtod(argv[1], &end);
    if (*end != '\0' || !(s > 0.0) || s > 1000.0) {
        fprintf(stderr, "usage: %s [SCALE>0]\n", argv[0]);
        exit(2);
    }
    return s;
}

/* n * scale, at least min. */
static BENCH_UNUSED long bench_scaled(long n, double scale, long min)
{
    double v = (double)n * scale;
    return v < (double)min ? min : (long)v;
}

/* splitmix64: small, fast, good enough for choosing sizes. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline size_t rng_range(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(rng_next(s) % (uint64_t)(hi - lo + 1));
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static BENCH_UNUSED void *xmalloc(size_t n)
{
    void *p = malloc(n);
    bench_check(p != NULL, "malloc(%zu) failed", n);
    bench_check(((uintptr_t)p & 15) == 0 || n < 16,
                "malloc(%zu) = %p is not 16-byte aligned", n, p);
    return p;
}

static BENCH_UNUSED void *xrealloc(void *q, size_t n)
{
    void *p = realloc(q, n);
    bench_check(p != NULL, "realloc(%zu) failed", n);
    return p;
}

/*
 * Stamp a block of n >= 1 bytes with a tag: the first min(8, n - 1) bytes
 * and the last byte carry it.  block_verify checks both.
 */
static inline void block_stamp(void *p, size_t n, uint64_t tag)
{
    unsigned char *c = p;
    memcpy(c, &tag, n > 8 ? 8 : n - 1);
    c[n - 1] = (unsigned char)(tag ^ n);
}

static inline void block_verify(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *c = p;
    bench_check(memcmp(c, &tag, n > 8 ? 8 : n - 1) == 0,
                "block %p (%zu bytes) head corrupted", p, n);
    bench_check(c[n - 1] == (unsigned char)(tag ^ n),
                "block %p (%zu bytes) tail corrupted", p, n);
}

/* Writes one byte per 4 KiB page (and the last byte) from a seed. */
static BENCH_UNUSED void pages_stamp(unsigned char *p, size_t n, uint64_t seed)
{
    for (size_t i = 0; i + 1 < n; i += 4096)
        p[i] = (unsigned char)mix64(seed + i);
    p[n - 1] = (unsigned char)(seed >> 3);
}

static BENCH_UNUSED void pages_verify(const unsigned char *p, size_t n,
                                      uint64_t seed)
{
    for (size_t i = 0; i + 1 < n; i += 4096)
        bench_check(p[i] == (unsigned char)mix64(seed + i),
                    "block %p (%zu bytes) byte %zu corrupted", (void *)p, n, i);
    bench_check(p[n - 1] == (unsigned char)(seed >> 3),
                "block %p (%zu bytes) last byte corrupted", (void *)p, n);
}

static BENCH_UNUSED void bench_ok(const char *name, uint64_t checksum)
{
    printf("%s ok %016llx\n", name, (unsigned long long)checksum);
    fflush(stdout);
}

#endif /* BENCH_H */
