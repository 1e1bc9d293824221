/*
 * mstress - many short-lived threads with short-lived objects (after
 * mimalloc-bench's mstressN).
 *
 * The program runs 800 waves (at scale 1) of 8 threads.  A thread first checks
 * and frees the blocks its predecessor (same index, previous wave) left for
 * it, then churns a small working set of short-lived blocks, and finally
 * leaves 400 blocks for its successor before exiting.  So thread heaps
 * are created and abandoned all the time, and a good share of the blocks
 * die in a thread other than the one that made them.
 *
 * Usage: mstress [SCALE [churn]]
 *   With "churn", 20,000 threads (at scale 1) in waves of 4, each doing
 *   little work (300 operations, 64 blocks left for its successor): what
 *   is measured is what an allocator charges for a thread's start and
 *   exit, finding it a heap and what that heap's memory costs the next
 *   thread (page faults where it was given back at exit).
 */
#include "bench.h"
#include <pthread.h>

#define MAXTHREADS 8
#define WORKSET 64
#define HANDOFF 400

/* The shape of a run: threads per wave, waves at scale 1, operations per
 * thread, blocks left for the successor. */
struct shape {
    int threads;
    long waves, ops;
    int handoff;
};
static const struct shape mstress_shape = {MAXTHREADS, 800, 2000, HANDOFF};
static const struct shape churn_shape = {4, 5000, 300, 64};
static struct shape shape;

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
        for (int i = 0; i < shape.handoff; i++) {
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
    for (int i = 0; i < shape.handoff; i++) {
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

static struct handoff hand[2][MAXTHREADS];

int main(int argc, char **argv)
{
    const char *name = "mstress";
    shape = mstress_shape;
    if (argc > 2 && strcmp(argv[2], "churn") == 0) {
        name = "threadchurn";
        shape = churn_shape;
    } else if (argc > 2) {
        fprintf(stderr, "usage: %s [SCALE [churn]]\n", argv[0]);
        return 2;
    }
    double scale = bench_scale(argc < 2 ? argc : 2, argv);
    long waves = bench_scaled(shape.waves, scale, 4);
    uint64_t sum = 0;
    for (long w = 0; w < waves; w++) {
        pthread_t th[MAXTHREADS];
        struct job jobs[MAXTHREADS];
        for (int i = 0; i < shape.threads; i++) {
            jobs[i].in = w ? &hand[(w + 1) & 1][i] : NULL;
            jobs[i].out = &hand[w & 1][i];
            jobs[i].seed = mix64((uint64_t)w * (uint64_t)shape.threads + (uint64_t)i + 1);
            jobs[i].ops = shape.ops;
            int rc = pthread_create(&th[i], NULL, worker, &jobs[i]);
            bench_check(rc == 0, "pthread_create: %s", strerror(rc));
        }
        for (int i = 0; i < shape.threads; i++) {
            pthread_join(th[i], NULL);
            sum += mix64(jobs[i].sum);
        }
    }
    for (int i = 0; i < shape.threads; i++) {
        struct handoff *h = &hand[(waves + 1) & 1][i];
        for (int k = 0; k < shape.handoff; k++) {
            block_verify(h->p[k], h->n[k], h->tag[k]);
            sum += h->tag[k];
            free(h->p[k]);
        }
    }
    bench_ok(name, sum);
    return 0;
}
