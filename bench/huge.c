/*
 * huge - huge blocks of several MiB.
 *
 * A working set of SLOTS blocks of 2 to 16 MiB is replaced at random;
 * every page of a new block is written (so the cost of fresh pages from
 * the kernel shows) and checked before the block is freed.
 */
#include "bench.h"

#define SLOTS 6

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long ops = bench_scaled(2000, scale, 10);
    unsigned char *blk[SLOTS] = {0};
    size_t n[SLOTS];
    uint64_t seed[SLOTS];
    uint64_t rng = 13, sum = 0;

    for (long i = 0; i < ops; i++) {
        size_t k = rng_next(&rng) % SLOTS;
        if (blk[k]) {
            pages_verify(blk[k], n[k], seed[k]);
            sum += n[k];
            free(blk[k]);
        }
        n[k] = rng_range(&rng, 2 << 20, 16 << 20);
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
    bench_ok("huge", sum);
    return 0;
}
