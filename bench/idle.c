/*
 * idle - does freed memory go back while the program sleeps?
 *
 * A server between requests: about 500 MiB (scaled) is allocated in
 * batches of small (16..512 B), large (16 KiB..1 MiB) and huge (3..12 MiB)
 * blocks, every byte written; then every batch but one in twenty is freed
 * (about 480 MiB) and the program makes no allocator call at all for 2 s.
 * An allocator that returns memory only on its own calls keeps it all.
 *
 * While it sleeps it reads its RSS from /proc/self/statm with open/read
 * (stdio would allocate) every 10 ms.  Reports on stderr, one line:
 *   idle: baseline_kb=B live_kb=L peak_kb=P threshold_kb=T t_below_ms=MS
 *         freed_kb=.. rss250_kb=.. rss500_kb=.. rss1000_kb=.. rss1500_kb=..
 *         final_kb=R
 * where threshold = baseline + 1.1 * live + 8 MiB (an allocator may keep
 * a little), t_below_ms the time after the last free() until RSS first fell
 * to it (-1: never within 2 s), freed_kb the RSS right after the last
 * free, rssN_kb the RSS N ms later and final_kb at 2 s.
 */
#include "bench.h"
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define BATCH_BYTES (2 << 20)
#define KEEP_EVERY 20
#define MAXBLK 4096 /* blocks per batch, upper bound */
#define NMARK 4

struct batch {
    void *p[MAXBLK];
    uint32_t n[MAXBLK];
    int count;
};

/* No allocation: the measurement must not wake the allocator. */
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

static size_t pick_size(uint64_t *rng, size_t bytes)
{
    unsigned kind = (unsigned)(rng_next(rng) % 16);
    /* Bytes split about evenly: many small blocks, fewer large, a few huge. */
    if (kind == 0 && bytes == 0)
        return rng_range(rng, 3 << 20, 12 << 20);
    if (kind < 8)
        return rng_range(rng, 16, 512);
    if (bytes > BATCH_BYTES / 2)
        return rng_range(rng, 16, 512);
    return rng_range(rng, 16384, 1 << 20);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long nbatch = bench_scaled(200, scale, 20);
    uint64_t rng = 41, sum = 0;
    struct batch *b = xmalloc((size_t)nbatch * sizeof *b);
    memset(b, 0, (size_t)nbatch * sizeof *b);
    long baseline = rss_kb();
    size_t live = 0;

    for (long i = 0; i < nbatch; i++) {
        size_t bytes = 0;
        int c = 0;
        while (bytes < BATCH_BYTES && c < MAXBLK) {
            size_t n = pick_size(&rng, bytes);
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
    long peak = rss_kb();
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
    /* From here to the end of the samples: no allocator call. */
    double t0 = now_ms();
    long freed = rss_kb(), last = freed;
    long threshold = baseline + (long)(live * 11 / 10 / 1024) + 8192;
    double t_below = last <= threshold ? 0 : -1;
    static const int mark_ms[NMARK] = {250, 500, 1000, 1500};
    long mark_kb[NMARK] = {-1, -1, -1, -1};
    for (double dt = 0; dt < 2000.0; dt = now_ms() - t0) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        last = rss_kb();
        dt = now_ms() - t0;
        if (t_below < 0 && last <= threshold)
            t_below = dt;
        for (int m = 0; m < NMARK; m++)
            if (mark_kb[m] < 0 && dt >= mark_ms[m])
                mark_kb[m] = last;
    }
    for (long i = 0; i < nbatch; i += KEEP_EVERY) {
        for (int c = 0; c < b[i].count; c++) {
            unsigned char *p = b[i].p[c];
            for (uint32_t k = 0; k < b[i].n[c]; k += 61)
                bench_check(p[k] == ((i + c) & 0xff), "live batch %ld corrupted", i);
            sum += b[i].n[c];
            free(p);
        }
    }
    free(b);
    fprintf(stderr,
            "idle: baseline_kb=%ld live_kb=%zu peak_kb=%ld threshold_kb=%ld t_below_ms=%.0f "
            "freed_kb=%ld rss250_kb=%ld rss500_kb=%ld rss1000_kb=%ld rss1500_kb=%ld "
            "final_kb=%ld\n",
            baseline, live / 1024, peak, threshold, t_below, freed, mark_kb[0], mark_kb[1],
            mark_kb[2], mark_kb[3], last);
    bench_ok("idle", sum);
    return 0;
}
