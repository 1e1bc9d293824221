/*
 * batches.h - the "allocate a lot, free most of it, watch RSS" set-up that
 * memreturn and idle share.
 *
 * Blocks are allocated in batches of about batch_bytes each, every byte
 * written with a tag of its batch and index; then every batch but one in
 * KEEP_EVERY is freed, so what stays live is clustered by age as a
 * program's long-lived data usually is.  RSS is read from /proc/self/statm
 * with open/read: stdio would allocate, and idle must make no allocator
 * call while it watches.
 */
#ifndef BATCHES_H
#define BATCHES_H

#include "bench.h"
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define KEEP_EVERY 20
#define MAXBLK 4096 /* blocks per batch, upper bound */

struct batch {
    void *p[MAXBLK];
    uint32_t n[MAXBLK];
    int count;
};

static long rss_kb(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    bench_check(fd >= 0, "/proc/self/statm: %s", strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    bench_check(n > 0, "/proc/self/statm: short read");
    buf[n] = '\0';
    const char *p = strchr(buf, ' ');
    bench_check(p != NULL, "statm format");
    return strtol(p + 1, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Fills b[0..nbatch) with blocks whose sizes pick() chooses from the bytes
 * the batch holds so far; returns the bytes of the batches that are kept. */
static size_t batches_fill(struct batch *b, long nbatch, size_t batch_bytes,
                           size_t (*pick)(uint64_t *rng, size_t bytes), uint64_t *rng)
{
    size_t live = 0;
    for (long i = 0; i < nbatch; i++) {
        size_t bytes = 0;
        int c = 0;
        while (bytes < batch_bytes && c < MAXBLK) {
            size_t n = pick(rng, bytes);
            unsigned char *p = xmalloc(n);
            memset(p, (int)(i + c) & 0xff, n);
            b[i].p[c] = p;
            b[i].n[c] = (uint32_t)n;
            bytes += n;
            c++;
        }
        b[i].count = c;
        if (i % KEEP_EVERY == 0)
            live += bytes;
    }
    return live;
}

/* Frees every batch but one in KEEP_EVERY, checking each block's ends. */
static void batches_free_most(struct batch *b, long nbatch)
{
    for (long i = 0; i < nbatch; i++) {
        if (i % KEEP_EVERY == 0)
            continue;
        for (int c = 0; c < b[i].count; c++) {
            unsigned char *p = b[i].p[c];
            bench_check(p[0] == ((i + c) & 0xff) && p[b[i].n[c] - 1] == ((i + c) & 0xff),
                        "batch %ld block %d corrupted", i, c);
            free(p);
        }
    }
}

/* Where both programs start measuring: about 200 batches (scaled) of
 * blocks allocated, then all but one in KEEP_EVERY freed. */
struct batches {
    struct batch *b;
    long n;
    long baseline_kb; /* RSS with the bookkeeping, before any block */
    long peak_kb;     /* RSS with every block */
    size_t live;      /* bytes of the batches kept */
};

static struct batches batches_run(double scale, size_t batch_bytes,
                                  size_t (*pick)(uint64_t *rng, size_t bytes), uint64_t *rng)
{
    struct batches r;
    r.n = bench_scaled(200, scale, 20);
    /* Written before the baseline is taken, so that the baseline covers
     * it. */
    r.b = xmalloc((size_t)r.n * sizeof *r.b);
    memset(r.b, 0, (size_t)r.n * sizeof *r.b);
    r.baseline_kb = rss_kb();
    r.live = batches_fill(r.b, r.n, batch_bytes, pick, rng);
    r.peak_kb = rss_kb();
    batches_free_most(r.b, r.n);
    return r;
}

/* Checks and frees the kept batches and the bookkeeping; returns their
 * bytes. */
static uint64_t batches_free_rest(struct batches *r)
{
    struct batch *b = r->b;
    uint64_t sum = 0;
    for (long i = 0; i < r->n; i += KEEP_EVERY) {
        for (int c = 0; c < b[i].count; c++) {
            unsigned char *p = b[i].p[c];
            for (uint32_t k = 0; k < b[i].n[c]; k += 61)
                bench_check(p[k] == ((i + c) & 0xff), "live batch %ld corrupted", i);
            sum += b[i].n[c];
            free(p);
        }
    }
    free(b);
    return sum;
}

#endif /* BATCHES_H */
