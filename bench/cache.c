/*
 * cache - false sharing (after Hoard's cache-thrash and cache-scratch).
 *
 *   cache thrash (active): each thread allocates a small object, writes
 *     every byte of it many times, frees it, and starts over.  An
 *     allocator that gives two threads objects on one cache line makes
 *     their writes fight over it.
 *   cache scratch (passive): the main thread allocates one small object per
 *     thread, all at once (so they are likely neighbours), and hands them
 *     out; each thread frees the one it got and then allocates, writes and
 *     frees its own objects.  An allocator that recycles the freed
 *     neighbour into the thread's next object keeps the false sharing.
 *
 * Usage: cache [SCALE] thrash|scratch
 */
#include "bench.h"
#include <pthread.h>

#define THREADS 2 /* the machine's core count: false sharing needs parallelism */
#define OBJSZ 8

struct job {
    char *handed; /* scratch: object to free first */
    long rounds;
    long writes;
    uint64_t sum;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    if (j->handed) {
        bench_check(j->handed[0] == 1, "handed object corrupted");
        free(j->handed);
    }
    uint64_t sum = 0;
    for (long r = 0; r < j->rounds; r++) {
        volatile char *o = xmalloc(OBJSZ);
        for (int k = 0; k < OBJSZ; k++)
            o[k] = 0;
        for (long w = 0; w < j->writes; w++)
            for (int k = 0; k < OBJSZ; k++)
                o[k]++;
        for (int k = 0; k < OBJSZ; k++) {
            bench_check(o[k] == (char)j->writes, "object byte %d is %d", k,
                        o[k]);
            sum += (unsigned char)o[k];
        }
        free((void *)o);
    }
    j->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    int scratch;
    if (argc > 2 && strcmp(argv[2], "scratch") == 0)
        scratch = 1;
    else if (argc > 2 && strcmp(argv[2], "thrash") == 0)
        scratch = 0;
    else {
        fprintf(stderr, "usage: %s SCALE thrash|scratch\n", argv[0]);
        return 2;
    }
    struct job jobs[THREADS];
    pthread_t th[THREADS];
    char *objs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        objs[i] = NULL;
        if (scratch) {
            objs[i] = xmalloc(OBJSZ);
            memset(objs[i], 1, OBJSZ);
        }
    }
    for (int i = 0; i < THREADS; i++) {
        jobs[i].handed = objs[i];
        jobs[i].rounds = bench_scaled(scratch ? 16000 : 1000000, scale, 10);
        jobs[i].writes = scratch ? 10000 : 100;
        int rc = pthread_create(&th[i], NULL, worker, &jobs[i]);
        bench_check(rc == 0, "pthread_create: %s", strerror(rc));
    }
    uint64_t sum = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        sum += jobs[i].sum;
    }
    uint64_t want = (uint64_t)THREADS * (uint64_t)jobs[0].rounds * OBJSZ *
                    (unsigned char)(char)jobs[0].writes;
    bench_check(sum == want, "sum %llu, want %llu", (unsigned long long)sum,
                (unsigned long long)want);
    bench_ok(scratch ? "cache-scratch" : "cache-thrash", sum);
    return 0;
}
