/*
 * xmalloc - producer/consumer (after Lever & Boreham's xmalloc-test).
 *
 * PAIRS producer threads allocate small blocks at a high rate, stamp them
 * and pass them in batches through a bounded single-producer /
 * single-consumer ring to a consumer thread, which checks and frees them.
 * Every block is freed by a thread other than the one that allocated it.
 *
 * Usage: xmalloc [SCALE [MAXSIZE]]: block sizes 16..MAXSIZE (default 256,
 * at most 4096) bytes.
 */
#include "bench.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PAIRS 1
#define BATCH 256
#define RING 64 /* batches in flight per pair */

struct batch {
    void *p[BATCH];
};

struct pair {
    struct batch ring[RING];
    _Atomic uint64_t head; /* written by the producer */
    char pad1[64];
    _Atomic uint64_t tail; /* written by the consumer */
    char pad2[64];
    long batches;
    uint64_t seed;
    uint64_t produced;
    uint64_t consumed;
};

static struct pair pairs[PAIRS];

static size_t max_size = 256;

/* The block's size is encoded in its tag so the consumer can verify it. */
static inline size_t tag_size(uint64_t tag) { return 16 + (size_t)(tag % (max_size - 15)); }

static void *producer(void *arg)
{
    struct pair *pr = arg;
    uint64_t rng = pr->seed, sum = 0;
    for (long b = 0; b < pr->batches; b++) {
        uint64_t h = atomic_load_explicit(&pr->head, memory_order_relaxed);
        while (h - atomic_load_explicit(&pr->tail, memory_order_acquire) >= RING)
            sched_yield();
        struct batch *bt = &pr->ring[h % RING];
        for (int i = 0; i < BATCH; i++) {
            uint64_t tag = rng_next(&rng);
            size_t n = tag_size(tag);
            void *p = xmalloc(n);
            block_stamp(p, n, tag);
            bt->p[i] = p;
            sum += tag;
        }
        atomic_store_explicit(&pr->head, h + 1, memory_order_release);
    }
    pr->produced = sum;
    return NULL;
}

static void *consumer(void *arg)
{
    struct pair *pr = arg;
    uint64_t rng = pr->seed, sum = 0;
    for (long b = 0; b < pr->batches; b++) {
        uint64_t t = atomic_load_explicit(&pr->tail, memory_order_relaxed);
        while (atomic_load_explicit(&pr->head, memory_order_acquire) == t)
            sched_yield();
        struct batch *bt = &pr->ring[t % RING];
        for (int i = 0; i < BATCH; i++) {
            /* The ring keeps order: replay the producer's sequence. */
            uint64_t tag = rng_next(&rng);
            size_t n = tag_size(tag);
            block_verify(bt->p[i], n, tag);
            sum += tag;
            free(bt->p[i]);
        }
        atomic_store_explicit(&pr->tail, t + 1, memory_order_release);
    }
    pr->consumed = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        max_size = (size_t)atol(argv[2]);
        if (max_size < 16 || max_size > 4096) {
            fprintf(stderr, "usage: %s [SCALE [MAXSIZE 16..4096]]\n", argv[0]);
            return 2;
        }
    }
    double scale = bench_scale(argc < 2 ? argc : 2, argv);
    long batches = bench_scaled(40000, scale, 100);
    pthread_t th[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pairs[i].batches = batches;
        pairs[i].seed = 0xabcdef + (uint64_t)i;
        int rc = pthread_create(&th[2 * i], NULL, producer, &pairs[i]);
        bench_check(rc == 0, "pthread_create: %s", strerror(rc));
        rc = pthread_create(&th[2 * i + 1], NULL, consumer, &pairs[i]);
        bench_check(rc == 0, "pthread_create: %s", strerror(rc));
    }
    uint64_t sum = 0;
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < PAIRS; i++) {
        bench_check(pairs[i].produced == pairs[i].consumed,
                    "pair %d: produced %llx consumed %llx", i,
                    (unsigned long long)pairs[i].produced,
                    (unsigned long long)pairs[i].consumed);
        sum += mix64(pairs[i].produced);
    }
    bench_check(sum != 0, "no work done");
    bench_ok("xmalloc", sum);
    return 0;
}
