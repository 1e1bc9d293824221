/*
 * smallloop - single-thread small-block loops of the kinds sh6bench,
 * sh8bench and alloc-test run, where the allocator's fast paths are
 * nearly all the work.
 *
 *   batches  allocate 1000 blocks of 1..512 bytes, free them in reverse,
 *            forward or odd-then-even order (sh6bench/sh8bench-like)
 *   live     a live set of 4096 blocks of 8..128 bytes; each step frees
 *            a random one and allocates its replacement (alloc-test-like)
 *   pairs    malloc and free at once, sizes 16..128, some nested two deep
 *
 * Each block's head and last byte are stamped and checked before it is
 * freed; the checksum counts the bytes freed.  A second argument (batches,
 * live or pairs) runs that part alone, to tell their costs apart.
 *
 * Usage: smallloop [SCALE [batches|live|pairs]]
 */
#include "bench.h"

#define BATCH 1000
#define LIVE 4096

static void *batch[BATCH];
static uint32_t batch_n[BATCH];
static void *live[LIVE];
static uint32_t live_n[LIVE];

static uint64_t release(void *p, size_t n, uint64_t tag)
{
    block_verify(p, n, tag);
    free(p);
    return n;
}

static uint64_t batches(long rounds, uint64_t *rng)
{
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < BATCH; i++) {
            size_t n = rng_range(rng, 1, 512);
            batch[i] = xmalloc(n);
            batch_n[i] = (uint32_t)n;
            block_stamp(batch[i], n, (uint64_t)i * 7 + n);
        }
        switch (r % 3) {
        case 0:
            for (int i = BATCH - 1; i >= 0; i--)
                sum += release(batch[i], batch_n[i], (uint64_t)i * 7 + batch_n[i]);
            break;
        case 1:
            for (int i = 0; i < BATCH; i++)
                sum += release(batch[i], batch_n[i], (uint64_t)i * 7 + batch_n[i]);
            break;
        default:
            for (int start = 1; start >= 0; start--)
                for (int i = start; i < BATCH; i += 2)
                    sum += release(batch[i], batch_n[i], (uint64_t)i * 7 + batch_n[i]);
        }
    }
    return sum;
}

static uint64_t live_set(long steps, uint64_t *rng)
{
    uint64_t sum = 0;
    for (int k = 0; k < LIVE; k++) {
        size_t n = rng_range(rng, 8, 128);
        live[k] = xmalloc(n);
        live_n[k] = (uint32_t)n;
        block_stamp(live[k], n, (uint64_t)k + n);
    }
    for (long i = 0; i < steps; i++) {
        size_t k = rng_next(rng) % LIVE;
        sum += release(live[k], live_n[k], (uint64_t)k + live_n[k]);
        size_t n = rng_range(rng, 8, 128);
        live[k] = xmalloc(n);
        live_n[k] = (uint32_t)n;
        block_stamp(live[k], n, (uint64_t)k + n);
    }
    for (int k = 0; k < LIVE; k++)
        sum += release(live[k], live_n[k], (uint64_t)k + live_n[k]);
    return sum;
}

static uint64_t pairs(long steps, uint64_t *rng)
{
    uint64_t sum = 0;
    for (long i = 0; i < steps; i++) {
        uint64_t r = rng_next(rng);
        size_t n = 16 + (size_t)(r % 113);
        void *p = xmalloc(n);
        block_stamp(p, n, (uint64_t)i);
        if (r & 0x100) {
            size_t m = 16 + (size_t)((r >> 16) % 113);
            void *q = xmalloc(m);
            block_stamp(q, m, (uint64_t)i + 1);
            sum += release(q, m, (uint64_t)i + 1);
        }
        sum += release(p, n, (uint64_t)i);
    }
    return sum;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    const char *only = argc > 2 ? argv[2] : NULL;
    if (only && strcmp(only, "batches") != 0 && strcmp(only, "live") != 0 &&
        strcmp(only, "pairs") != 0) {
        fprintf(stderr, "usage: %s [SCALE [batches|live|pairs]]\n", argv[0]);
        return 2;
    }
    uint64_t rng = 7, sum = 0;
    if (!only || strcmp(only, "batches") == 0)
        sum += batches(bench_scaled(12000, scale, 10), &rng);
    if (!only || strcmp(only, "live") == 0)
        sum += live_set(bench_scaled(12000000, scale, 1000), &rng);
    if (!only || strcmp(only, "pairs") == 0)
        sum += pairs(bench_scaled(20000000, scale, 1000), &rng);
    bench_ok("smallloop", sum);
    return 0;
}
