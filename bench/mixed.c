/*
 * mixed - single-thread mixed sizes and lifetimes.
 *
 * Sizes from 8 bytes to 256 KiB (most small, a long tail of medium and
 * large), lifetimes from immediate to the whole run: short-lived blocks
 * live in a small ring, long-lived ones in a large table that is slowly
 * replaced.  Every block is written through (memset) when allocated and
 * checked when freed.
 */
#include "bench.h"

#define SHORT 256
#define LONG 8192

struct blk {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

static size_t mixed_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng) % 1000;
    if (r < 700)
        return rng_range(rng, 8, 128);
    if (r < 900)
        return rng_range(rng, 129, 1024);
    if (r < 980)
        return rng_range(rng, 1025, 16384);
    if (r < 998)
        return rng_range(rng, 16385, 131072);
    return rng_range(rng, 131073, 262144);
}

static void blk_new(struct blk *b, uint64_t *rng)
{
    b->n = mixed_size(rng);
    b->tag = rng_next(rng);
    b->p = xmalloc(b->n);
    memset(b->p, (int)(b->tag & 0xff), b->n);
    block_stamp(b->p, b->n, b->tag);
}

static uint64_t blk_free(struct blk *b)
{
    block_verify(b->p, b->n, b->tag);
    if (b->n > 16)
        bench_check(b->p[b->n / 2] == (unsigned char)(b->tag & 0xff),
                    "block middle corrupted");
    free(b->p);
    b->p = NULL;
    return b->tag ^ b->n;
}

static struct blk shorts[SHORT], longs[LONG];

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long ops = bench_scaled(4000000, scale, 1000);
    uint64_t rng = 7, sum = 0;

    for (long i = 0; i < ops; i++) {
        uint64_t r = rng_next(&rng);
        if ((r & 15) == 0) {
            struct blk *b = &longs[(r >> 8) % LONG];
            if (b->p)
                sum += blk_free(b);
            blk_new(b, &rng);
        } else if ((r & 15) < 4) {
            /* Immediate: allocate, use, free. */
            struct blk b;
            blk_new(&b, &rng);
            sum += blk_free(&b);
        } else {
            struct blk *b = &shorts[(r >> 8) % SHORT];
            if (b->p)
                sum += blk_free(b);
            blk_new(b, &rng);
        }
    }
    for (int k = 0; k < SHORT; k++)
        if (shorts[k].p)
            sum += blk_free(&shorts[k]);
    for (int k = 0; k < LONG; k++)
        if (longs[k].p)
            sum += blk_free(&longs[k]);
    bench_ok("mixed", sum);
    return 0;
}
