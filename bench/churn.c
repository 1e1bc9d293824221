/*
 * churn - single-thread small-object churn.
 *
 * A pool of live small blocks (8..256 bytes, weighted to the small end)
 * in which random blocks die and are replaced, interleaved with bursts
 * that allocate a few thousand temporaries and free them in LIFO or FIFO
 * order, as a program's inner loops do.
 */
#include "bench.h"

#define POOL 16384
#define BURST 4096

static size_t small_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng);
    /* Half in 8..32, a quarter in 33..64, a quarter in 65..256. */
    switch (r & 3) {
    case 0:
    case 1:
        return 8 + (size_t)((r >> 2) % 25);
    case 2:
        return 33 + (size_t)((r >> 2) % 32);
    default:
        return 65 + (size_t)((r >> 2) % 192);
    }
}

static void *pool[POOL];
static uint32_t pool_n[POOL];
static void *burst[BURST];
static uint32_t burst_n[BURST];

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long rounds = bench_scaled(700, scale, 5);
    uint64_t rng = 42, sum = 0;

    for (long r = 0; r < rounds; r++) {
        /* Steady churn in the pool. */
        for (int i = 0; i < 20000; i++) {
            size_t k = rng_next(&rng) % POOL;
            if (pool[k]) {
                block_verify(pool[k], pool_n[k], k * 31 + pool_n[k]);
                sum += pool_n[k];
                free(pool[k]);
            }
            size_t n = small_size(&rng);
            pool[k] = xmalloc(n);
            pool_n[k] = (uint32_t)n;
            block_stamp(pool[k], n, k * 31 + n);
        }
        /* A burst of temporaries. */
        for (int i = 0; i < BURST; i++) {
            size_t n = small_size(&rng);
            burst[i] = xmalloc(n);
            burst_n[i] = (uint32_t)n;
            block_stamp(burst[i], n, (uint64_t)i ^ n);
        }
        if (r & 1) {
            for (int i = BURST - 1; i >= 0; i--) {
                block_verify(burst[i], burst_n[i], (uint64_t)i ^ burst_n[i]);
                sum += burst_n[i];
                free(burst[i]);
            }
        } else {
            for (int i = 0; i < BURST; i++) {
                block_verify(burst[i], burst_n[i], (uint64_t)i ^ burst_n[i]);
                sum += burst_n[i];
                free(burst[i]);
            }
        }
    }
    for (size_t k = 0; k < POOL; k++) {
        if (pool[k]) {
            block_verify(pool[k], pool_n[k], k * 31 + pool_n[k]);
            sum += pool_n[k];
            free(pool[k]);
        }
    }
    bench_ok("churn", sum);
    return 0;
}
