/*
 * larson - server-style churn (after Larson & Krishnan's benchmark).
 *
 * THREADS workers each own a table of SLOTS live blocks of random sizes.
 * A worker repeatedly frees a random slot's block (checking its contents)
 * and puts a new random-sized block there.  After each round every table
 * is handed to a fresh thread (the old ones exit), so most blocks are
 * freed by a thread other than the one that allocated them, and thread
 * heaps come and go as in a server with a thread per connection.
 *
 * Usage: larson [SCALE [THREADS]]: THREADS workers (default 4, at most 16).
 */
#include "bench.h"
#include <pthread.h>

#define MAXTHREADS 16
#define SLOTS 2000
#define MINSZ 8
#define MAXSZ 512

struct table {
    void *blk[SLOTS];
    uint32_t size[SLOTS];
    uint64_t tag[SLOTS];
    uint64_t rng;
    uint64_t sum;
    long ops;
};

static struct table tables[MAXTHREADS];
static int threads = 4;

static void *worker(void *arg)
{
    struct table *t = arg;
    for (long i = 0; i < t->ops; i++) {
        size_t k = rng_next(&t->rng) % SLOTS;
        if (t->blk[k]) {
            block_verify(t->blk[k], t->size[k], t->tag[k]);
            t->sum += t->tag[k] ^ t->size[k];
            free(t->blk[k]);
        }
        size_t n = rng_range(&t->rng, MINSZ, MAXSZ);
        uint64_t tag = rng_next(&t->rng);
        t->blk[k] = xmalloc(n);
        block_stamp(t->blk[k], n, tag);
        t->size[k] = (uint32_t)n;
        t->tag[k] = tag;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        threads = atoi(argv[2]);
        if (threads < 1 || threads > MAXTHREADS) {
            fprintf(stderr, "usage: %s [SCALE [THREADS 1..%d]]\n", argv[0], MAXTHREADS);
            return 2;
        }
    }
    double scale = bench_scale(argc < 2 ? argc : 2, argv);
    long rounds = bench_scaled(60, scale, 2);
    long ops = 100000;

    for (int i = 0; i < threads; i++) {
        tables[i].rng = 0x1234 + (uint64_t)i * 77;
        tables[i].ops = ops;
    }
    for (long r = 0; r < rounds; r++) {
        pthread_t th[MAXTHREADS];
        for (int i = 0; i < threads; i++) {
            /* Round r: thread i works on table (i + r) % threads. */
            int rc = pthread_create(&th[i], NULL, worker, &tables[(i + r) % threads]);
            bench_check(rc == 0, "pthread_create: %s", strerror(rc));
        }
        for (int i = 0; i < threads; i++)
            pthread_join(th[i], NULL);
    }
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        struct table *t = &tables[i];
        for (int k = 0; k < SLOTS; k++) {
            if (t->blk[k]) {
                block_verify(t->blk[k], t->size[k], t->tag[k]);
                t->sum += t->tag[k] ^ t->size[k];
                free(t->blk[k]);
            }
        }
        sum += mix64(t->sum + (uint64_t)i);
    }
    bench_ok("larson", sum);
    return 0;
}
