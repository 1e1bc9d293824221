/*
 * large - large blocks, 16 KiB to 1 MiB.
 *
 * A working set of SLOTS blocks with sizes spread log-uniformly over
 * 16 KiB .. 1 MiB is replaced at random, with some blocks allocated and
 * freed at once (scratch buffers).  Every page of a block is written when
 * it is allocated and checked before it is freed.
 */
#include "bench.h"

#define SLOTS 64

static size_t large_size(uint64_t *rng)
{
    int shift = 14 + (int)(rng_next(rng) % 6); /* 16 KiB .. 512 KiB */
    size_t base = (size_t)1 << shift;
    return base + (size_t)(rng_next(rng) % base); /* up to 1 MiB */
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long ops = bench_scaled(200000, scale, 200);
    unsigned char *blk[SLOTS] = {0};
    size_t n[SLOTS];
    uint64_t seed[SLOTS];
    uint64_t rng = 11, sum = 0;

    for (long i = 0; i < ops; i++) {
        if (i % 4 == 3) {
            size_t m = large_size(&rng);
            unsigned char *p = xmalloc(m);
            pages_stamp(p, m, (uint64_t)i);
            pages_verify(p, m, (uint64_t)i);
            sum += m;
            free(p);
            continue;
        }
        size_t k = rng_next(&rng) % SLOTS;
        if (blk[k]) {
            pages_verify(blk[k], n[k], seed[k]);
            sum += n[k];
            free(blk[k]);
        }
        n[k] = large_size(&rng);
        seed[k] = rng_next(&rng);
        blk[k] = xmalloc(n[k]);
        pages_stamp(blk[k], n[k], seed[k]);
    }
    for (int k = 0; k < SLOTS; k++) {
        if (blk[k]) {
            pages_verify(blk[k], n[k], seed[k]);
            sum += n[k];
            free(blk[k]);
        }
    }
    bench_ok("large", sum);
    return 0;
}
