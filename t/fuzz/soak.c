/*
 * soak.c - a long run of everything at once (make soak, not make check):
 * worker threads allocating, resizing and replacing mixed sizes and trading
 * blocks through a shared table (so most frees are remote), workers exiting
 * and being replaced, and fork() children that allocate and exit, while the
 * resident set is sampled every second.
 *
 *   t/fuzz/soak [--time SECONDS] [--seed N] [--threads N]
 *
 * Every block's contents are checked before it is resized or freed.  The
 * run passes when no check failed and the resident set at the end (median
 * of the last ten samples) is at most 10% above the one after warm-up
 * (median of the ten samples ending at min(10% of the run, 30 s)): the live set
 * is the same size throughout, so growth means memory is being lost.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define MAX_THREADS 16
#define LOCAL_SLOTS 2048
#define SHARED_SLOTS 256
#define WINDOW 10 /* samples whose median is compared */

typedef struct block {
    char *p;
    size_t size;
    uint64_t tag;
} block;

typedef struct worker {
    pthread_t thread;
    unsigned id, generation;
    volatile int done;
} worker;

static const alloc_api *api = &test_apis[N_APIS - 1];
static uint64_t seed;
static unsigned nthreads = 4;
static volatile int stopping;
static unsigned long errors, generations, forks, ops;
static block *volatile shared[SHARED_SLOTS];
static worker workers[MAX_THREADS];

static void fail(const char *what, const block *b, long at)
{
    if (__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED) < 5)
        fprintf(stderr, "soak: %s: block %p of %zu bytes (tag %016llx) damaged at %ld\n", what,
                (void *)b->p, b->size, (unsigned long long)b->tag, at);
}

static void check(const block *b, const char *what)
{
    long at = sparse_check(b->p, b->size, b->size, b->tag);
    if (at >= 0)
        fail(what, b, at);
}

static size_t pick_size(rng *r)
{
    uint64_t x = rng_below(r, 10000);
    if (x < 7500)
        return rng_below(r, 256);
    if (x < 9800)
        return 256 + rng_below(r, 16 * KiB);
    if (x < 9995)
        return 16 * KiB + rng_below(r, 1 * MiB);
    return 1 * MiB + rng_below(r, 3 * MiB);
}

/* Slot i of every worker holds blocks of about base[i] bytes, always:
 * the live set stays the same size, so the resident set should too. */
static size_t base[LOCAL_SLOTS];

static size_t slot_size(size_t i, rng *r)
{
    return base[i] - base[i] / 8 + rng_below(r, base[i] / 4 + 1);
}

static void fill_new(block *b, size_t size, rng *r)
{
    b->size = size;
    b->tag = rng_next(r);
    b->p = api->alloc(b->size);
    if (!b->p) {
        fprintf(stderr, "soak: alloc(%zu) failed\n", b->size);
        __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        b->size = 0;
        return;
    }
    sparse_fill(b->p, b->size, b->tag);
}

static void drop(block *b, const char *what)
{
    check(b, what);
    api->release(b->p);
    b->p = NULL;
}

static void *work(void *arg)
{
    worker *w = arg;
    static __thread block local[LOCAL_SLOTS];
    rng r;
    rng_seed(&r, mix64(seed ^ ((uint64_t)w->id << 32 | w->generation)));
    /* Each generation lives for a random number of calls, then exits. */
    unsigned long life = 20000 + rng_below(&r, 200000), n = 0;
    for (; n < life && !stopping; n++) {
        size_t i = rng_below(&r, LOCAL_SLOTS);
        block *b = &local[i];
        uint64_t what = rng_below(&r, 100);
        if (!b->p) {
            fill_new(b, slot_size(i, &r), &r);
        } else if (what < 10) {
            /* Trade with whichever thread put a block in this slot. */
            block *mine = api->alloc(sizeof *mine);
            if (!mine)
                continue;
            *mine = *b;
            b->p = NULL;
            block *theirs =
                __atomic_exchange_n(&shared[rng_below(&r, SHARED_SLOTS)], mine, __ATOMIC_ACQ_REL);
            if (theirs) {
                drop(theirs, "remote free");
                api->release(theirs);
            }
        } else if (what < 25) {
            size_t size = slot_size(i, &r);
            check(b, "before realloc");
            char *q = api->resize(b->p, size ? size : 1);
            if (!q) {
                __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
                continue;
            }
            long at = sparse_check(q, b->size, size ? size : 1, b->tag);
            if (at >= 0)
                fail("realloc", b, at);
            b->p = q;
            b->size = size ? size : 1;
            sparse_fill(q, b->size, b->tag);
        } else {
            drop(b, "free");
            fill_new(b, slot_size(i, &r), &r);
        }
    }
    for (size_t i = 0; i < LOCAL_SLOTS; i++)
        if (local[i].p)
            drop(&local[i], "free at exit");
    __atomic_fetch_add(&ops, n, __ATOMIC_RELAXED);
    w->done = 1;
    return NULL;
}

static void start(worker *w)
{
    w->done = 0;
    if (pthread_create(&w->thread, NULL, work, w) != 0) {
        perror("soak: pthread_create");
        exit(2);
    }
}

/* A child that allocates, checks and frees, then exits: after fork the
 * allocator must work in a process whose other threads are gone. */
static void *forker(void *arg)
{
    rng r;
    (void)arg;
    rng_seed(&r, mix64(seed ^ 0xf0f0));
    while (!stopping) {
        uint64_t child_seed = rng_next(&r);
        pid_t pid = fork();
        if (pid == 0) {
            static block b[256];
            unsigned long before = errors;
            rng cr;
            rng_seed(&cr, child_seed);
            for (int round = 0; round < 4; round++) {
                for (size_t i = 0; i < 256; i++)
                    fill_new(&b[i], pick_size(&cr), &cr);
                for (size_t i = 0; i < 256; i++)
                    if (b[i].p)
                        drop(&b[i], "in a fork child");
            }
            _exit(errors == before ? 0 : 1);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "soak: fork child failed (status %#x)\n", pid < 0 ? -1 : status);
            __atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
        }
        forks++;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static double rss_mib(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2) {
        perror("soak: /proc/self/statm");
        exit(2);
    }
    fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE) / (double)MiB;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of WINDOW samples ending at v[last]: a purge or a huge block
 * caught in one sample does not move it. */
static double median(const double *v, size_t last)
{
    double w[WINDOW];
    memcpy(w, &v[last - WINDOW + 1], sizeof w);
    qsort(w, WINDOW, sizeof w[0], by_value);
    return (w[WINDOW / 2 - 1] + w[WINDOW / 2]) / 2;
}

int main(int argc, char **argv)
{
    unsigned long seconds = 600;
    seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long long v = strtoull(argv[i + 1], NULL, 0);
        if (!strcmp(argv[i], "--time"))
            seconds = v;
        else if (!strcmp(argv[i], "--seed"))
            seed = v;
        else if (!strcmp(argv[i], "--threads"))
            nthreads = v < 1 ? 1 : v > MAX_THREADS ? MAX_THREADS : (unsigned)v;
    }
    if (seconds < 2 * WINDOW)
        seconds = 2 * WINDOW;
    unsigned long warm = seconds / 10 < 30 ? seconds / 10 : 30;
    if (warm < WINDOW)
        warm = WINDOW;
    printf("soak: seed %llu, %u threads, %lu s (warm-up %lu s), %s API\n", (unsigned long long)seed,
           nthreads, seconds, warm, api->name);
    fflush(stdout);

    rng r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < LOCAL_SLOTS; i++)
        base[i] = 1 + pick_size(&r);
    pthread_t fork_thread;
    for (unsigned i = 0; i < nthreads; i++) {
        workers[i].id = i;
        start(&workers[i]);
    }
    if (pthread_create(&fork_thread, NULL, forker, NULL) != 0)
        return 2;
    double *samples = calloc(seconds + 1, sizeof *samples);
    if (!samples)
        return 2;
    for (unsigned long t = 1; t <= seconds; t++) {
        /* Replace the workers that exited, then wait out the second. */
        for (unsigned i = 0; i < nthreads; i++) {
            if (workers[i].done) {
                pthread_join(workers[i].thread, NULL);
                workers[i].generation++;
                generations++;
                start(&workers[i]);
            }
        }
        sleep(1);
        samples[t] = rss_mib();
        if (t % 10 == 0 || t == warm)
            printf("soak: %4lu s: RSS %.1f MiB, %lu thread exits, %lu forks\n", t, samples[t],
                   generations, forks);
        fflush(stdout);
    }
    stopping = 1;
    for (unsigned i = 0; i < nthreads; i++)
        pthread_join(workers[i].thread, NULL);
    pthread_join(fork_thread, NULL);
    for (size_t i = 0; i < SHARED_SLOTS; i++) {
        if (shared[i]) {
            drop(shared[i], "remote free at the end");
            api->release(shared[i]);
        }
    }

    double at_warm = median(samples, warm);
    double at_end = median(samples, seconds);
    double growth = (at_end - at_warm) / at_warm * 100;
    printf("soak: seed %llu: %lu calls, %lu thread exits, %lu forks, %lu errors; RSS after "
           "warm-up %.1f MiB, at the end %.1f MiB (%+.1f%%)\n",
           (unsigned long long)seed, ops, generations, forks, errors, at_warm, at_end, growth);
    free(samples);
    if (errors || growth > 10) {
        printf("soak: FAILED\n");
        return 1;
    }
    printf("soak: passed\n");
    return 0;
}
