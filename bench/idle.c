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
#include "batches.h"

#define BATCH_BYTES (2 << 20)
#define NMARK 4

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
    uint64_t rng = 41;
    struct batches r = batches_run(bench_scale(argc, argv), BATCH_BYTES, pick_size, &rng);
    /* From here to the end of the samples: no allocator call. */
    double t0 = now_ms();
    long freed = rss_kb(), last = freed;
    long threshold = r.baseline_kb + (long)(r.live * 11 / 10 / 1024) + 8192;
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
    uint64_t sum = batches_free_rest(&r);
    fprintf(stderr,
            "idle: baseline_kb=%ld live_kb=%zu peak_kb=%ld threshold_kb=%ld t_below_ms=%.0f "
            "freed_kb=%ld rss250_kb=%ld rss500_kb=%ld rss1000_kb=%ld rss1500_kb=%ld "
            "final_kb=%ld\n",
            r.baseline_kb, r.live / 1024, r.peak_kb, threshold, t_below, freed, mark_kb[0],
            mark_kb[1], mark_kb[2], mark_kb[3], last);
    bench_ok("idle", sum);
    return 0;
}
