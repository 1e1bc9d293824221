/*
 * calloc.c - calloc returns zeroed memory even when it reuses blocks that
 * were dirtied and freed, in every size range, mixed with other traffic.
 */
#include <stdio.h>

#include "tap.h"
#include "testlib.h"

static const size_t sizes[] = {
    1,     16,    24,     100,     1000,           4096,    10000,   16384,
    16385, 50000, 262144, 1 << 20, (1 << 20) + 16, 3 << 20, 6 << 20,
};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

static void test_reuse(const alloc_api *a)
{
    enum { PER = 16 };
    void *blocks[PER];
    size_t bad = 0;
    for (size_t round = 0; round < 4; round++)
        for (size_t i = 0; i < N_SIZES; i++) {
            size_t n = sizes[i], per = n > (1 << 20) ? 3 : PER;
            for (size_t k = 0; k < per; k++) {
                blocks[k] = a->alloc(n);
                if (!blocks[k])
                    bail("%s: alloc(%zu) failed", a->name, n);
                memset(blocks[k], 0xa5, a->usable(blocks[k]));
            }
            for (size_t k = 0; k < per; k++)
                a->release(blocks[k]);
            for (size_t k = 0; k < per; k++) {
                /* Same byte count, split differently between nmemb and size. */
                size_t nmemb = (k & 1) && n % 8 == 0 ? n / 8 : n, each = n / nmemb;
                blocks[k] = a->zalloc(nmemb, each);
                if (!blocks[k])
                    bail("%s: calloc(%zu, %zu) failed", a->name, nmemb, each);
                if (!all_bytes(blocks[k], n, 0) && bad++ < 5)
                    diag("%s: calloc(%zu, %zu) after reuse is not zeroed", a->name, nmemb, each);
                memset(blocks[k], 0x5a, n);
            }
            for (size_t k = 0; k < per; k++)
                a->release(blocks[k]);
        }
    is_int(0, (long long)bad, "%s: calloc zeroes reused memory in every size range", a->name);
}

/* Random traffic: dirty blocks freed in random order, then calloc. */
static void test_random(const alloc_api *a, uint64_t seed)
{
    enum { SLOTS = 512 };
    static void *slot[SLOTS];
    static size_t len[SLOTS];
    static int zeroed[SLOTS];
    rng r;
    size_t bad = 0, callocs = 0;
    rng_seed(&r, seed);
    for (size_t step = 0; step < 60000; step++) {
        size_t i = rng_below(&r, SLOTS);
        if (slot[i]) {
            if (zeroed[i] && !all_bytes(slot[i], len[i], 0) && bad++ < 5)
                diag("%s: step %zu: calloc'd block of %zu changed", a->name, step, len[i]);
            a->release(slot[i]);
            slot[i] = NULL;
            continue;
        }
        size_t n = rng_below(&r, 16) == 0 ? rng_below(&r, 300000) : rng_below(&r, 3000);
        if (rng_below(&r, 2)) {
            slot[i] = a->zalloc(1, n);
            zeroed[i] = 1;
            callocs++;
            if (slot[i] && !all_bytes(slot[i], n, 0) && bad++ < 5)
                diag("%s: step %zu: calloc(1, %zu) not zeroed", a->name, step, n);
        } else {
            slot[i] = a->alloc(n);
            zeroed[i] = 0;
            if (slot[i])
                memset(slot[i], 0xff, n);
        }
        if (!slot[i])
            bail("%s: allocation of %zu failed", a->name, n);
        len[i] = n;
    }
    for (size_t i = 0; i < SLOTS; i++)
        a->release(slot[i]), slot[i] = NULL;
    is_int(0, (long long)bad, "%s: %zu callocs among random dirty traffic are all zero", a->name,
           callocs);
}

int main(void)
{
    uint64_t seed = test_seed(7);
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++) {
        test_reuse(&test_apis[i]);
        test_random(&test_apis[i], seed + i);
    }
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
