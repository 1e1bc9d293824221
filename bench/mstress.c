/*
 * mstress - many short-lived threads with short-lived objects (after
 * mimalloc-bench's mstressN).
 *
 * The program runs WAVES waves of THREADS threads.  A thread first checks
 * and frees the blocks its predecessor (same index, previous wave) left for
 * it, then churns a small working set of short-lived blocks, and finally
 * leaves HANDOFF blocks for its successor before exiting.  So thread heaps
 * are created and abandoned all the time, and a good share of the blocks
 * die in a thread other than the one that made them.
 */
#include "bench.h"
#include <pthread.h>

#define THREADS 8
#define WORKSET 64
#define HANDOFF 400

struct handoff {
    void *p[HANDOFF];
    uint32_t n[HANDOFF];
    uint64_t tag[HANDOFF];
};

struct job {
    struct handoff *in, *out;
    uint64_t seed;
    long ops;
    uint64_t sum;
};

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng) % 100;
    if (r < 80)
        return rng_range(rng, 8, 128);
    if (r < 97)
        return rng_range(rng, 129, 1024);
    return rng_range(rng, 1025, 8192);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    uint64_t rng = j->seed, sum = 0;
    if (j->in) {
        for (int i = 0; i < HANDOFF; i++) {
            block_verify(j->in->p[i], j->in->n[i], j->in->tag[i]);
            sum += j->in->tag[i];
            free(j->in->p[i]);
        }
    }
    void *ws[WORKSET] = {0};
    size_t wn[WORKSET];
    uint64_t wt[WORKSET];
    for (long i = 0; i < j->ops; i++) {
        size_t k = rng_next(&rng) % WORKSET;
        if (ws[k]) {
            block_verify(ws[k], wn[k], wt[k]);
            sum += wt[k];
            free(ws[k]);
        }
        wn[k] = pick_size(&rng);
        wt[k] = rng_next(&rng);
        ws[k] = xmalloc(wn[k]);
        block_stamp(ws[k], wn[k], wt[k]);
    }
    for (int k = 0; k < WORKSET; k++) {
        if (ws[k]) {
            block_verify(ws[k], wn[k], wt[k]);
            sum += wt[k];
            free(ws[k]);
        }
    }
    for (int i = 0; i < HANDOFF; i++) {
        size_t n = pick_size(&rng);
        uint64_t tag = rng_next(&rng);
        j->out->p[i] = xmalloc(n);
        block_stamp(j->out->p[i], n, tag);
        j->out->n[i] = (uint32_t)n;
        j->out->tag[i] = tag;
    }
    j->sum = sum;
    return NULL;
}

static struct handoff hand[2][THREADS];

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long waves = bench_scaled(800, scale, 4);
    uint64_t sum = 0;
    for (long w = 0; w < waves; w++) {
        pthread_t th[THREADS];
        struct job jobs[THREADS];
        for (int i = 0; i < THREADS; i++) {
            jobs[i].in = w ? &hand[(w + 1) & 1][i] : NULL;
            jobs[i].out = &hand[w & 1][i];
            jobs[i].seed = mix64((uint64_t)w * THREADS + (uint64_t)i + 1);
            jobs[i].ops = 2000;
            int rc = pthread_create(&th[i], NULL, worker, &jobs[i]);
            bench_check(rc == 0, "pthread_create: %s", strerror(rc));
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            sum += mix64(jobs[i].sum);
        }
    }
    for (int i = 0; i < THREADS; i++) {
        struct handoff *h = &hand[(waves + 1) & 1][i];
        for (int k = 0; k < HANDOFF; k++) {
            block_verify(h->p[k], h->n[k], h->tag[k]);
            sum += h->tag[k];
            free(h->p[k]);
        }
    }
    bench_ok("mstress", sum);
    return 0;
}
