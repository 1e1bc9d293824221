/*
 * aligned - aligned allocation.
 *
 * A working set of blocks from posix_memalign, aligned_alloc and memalign
 * with alignments from 16 bytes to 64 KiB (rarely 1 MiB) and sizes from a
 * few bytes to 64 KiB, replaced at random.  Every result is checked for
 * its alignment, stamped, and checked again before it is freed.
 */
#include "bench.h"
#include <malloc.h>

#define SLOTS 1024

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long ops = bench_scaled(3000000, scale, 1000);
    void *blk[SLOTS] = {0};
    size_t n[SLOTS];
    uint64_t tag[SLOTS];
    uint64_t rng = 19, sum = 0;

    for (long i = 0; i < ops; i++) {
        size_t k = rng_next(&rng) % SLOTS;
        if (blk[k]) {
            block_verify(blk[k], n[k], tag[k]);
            sum += tag[k];
            free(blk[k]);
        }
        uint64_t r = rng_next(&rng);
        size_t align;
        if (r % 1000 == 0)
            align = (size_t)1 << 20;
        else if (r % 100 < 85)
            align = (size_t)16 << (r >> 20) % 4;  /* 16 .. 128 */
        else
            align = (size_t)256 << (r >> 20) % 9; /* 256 .. 64 KiB */
        size_t size = (r >> 32) % 100 < 90 ? rng_range(&rng, 1, 512)
                                            : rng_range(&rng, 513, 65536);
        void *p = NULL;
        switch ((r >> 8) % 3) {
        case 0: {
            int rc = posix_memalign(&p, align, size);
            bench_check(rc == 0, "posix_memalign(%zu, %zu): %d", align, size, rc);
            break;
        }
        case 1:
            p = aligned_alloc(align, size); /* size need not be a multiple (C17) */
            break;
        default:
            p = memalign(align, size);
            break;
        }
        bench_check(p != NULL, "aligned allocation of %zu at %zu failed", size, align);
        bench_check(((uintptr_t)p & (align - 1)) == 0, "%p is not %zu-aligned", p, align);
        blk[k] = p;
        n[k] = size;
        tag[k] = rng_next(&rng);
        block_stamp(p, size, tag[k]);
    }
    for (int k = 0; k < SLOTS; k++) {
        if (blk[k]) {
            block_verify(blk[k], n[k], tag[k]);
            sum += tag[k];
            free(blk[k]);
        }
    }
    bench_ok("aligned", sum);
    return 0;
}
