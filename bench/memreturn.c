/*
 * memreturn - how fast freed memory goes back to the kernel.
 *
 * Allocates about 200 MiB (scaled) in batches of mixed small (16..512 B)
 * and large (16..256 KiB) blocks, writing every byte, then frees 95% of it:
 * every batch but one in twenty, so what stays live is clustered by age as
 * a program's long-lived data usually is.  Then it keeps doing light
 * allocation work (small malloc/free pairs, one 64 KiB scratch buffer) and
 * samples its own RSS from /proc/self/statm every 10 ms for 2 s.
 *
 * Reports on stderr, one line:
 *   memreturn: baseline_kb=B live_kb=L peak_kb=P freed_kb=F threshold_kb=T
 *              t_below_ms=MS rss100_kb=.. rss250_kb=.. rss500_kb=..
 *              rss1000_kb=.. final_kb=R
 * where threshold = baseline + 1.1 * live, t_below_ms is the time after
 * the last free() until RSS first fell to the threshold or below (-1:
 * never within the 2 s), rssN_kb the RSS N ms after the last free and
 * final_kb the RSS of the last sample (at 2 s).
 */
#include "batches.h"

#define BATCH_BYTES (1 << 20)

/* Small (16..512 B) or large (16..256 KiB) at even odds, the two halves of
 * a batch at about equal bytes. */
static size_t pick_size(uint64_t *rng, size_t bytes)
{
    size_t n = rng_next(rng) % 2 ? rng_range(rng, 16, 512) : rng_range(rng, 16384, 262144);
    if (n > 512 && bytes > BATCH_BYTES / 2)
        n = rng_range(rng, 16, 512);
    return n;
}

int main(int argc, char **argv)
{
    uint64_t rng = 23;
    struct batches r = batches_run(bench_scale(argc, argv), BATCH_BYTES, pick_size, &rng);
    double t0 = now_ms();
    long freed = rss_kb();
    long threshold = r.baseline_kb + (long)(r.live * 11 / 10 / 1024);
    double t_below = -1;
    long last = freed;
    /* RSS at these times after the last free (ms). */
    static const int mark_ms[4] = {100, 250, 500, 1000};
    long mark_kb[4] = {-1, -1, -1, -1};
    if (last <= threshold)
        t_below = 0;
    void *keep[64] = {0};
    while (now_ms() - t0 < 2000.0) {
        /* Light work: a few hundred small blocks, one scratch buffer. */
        for (int k = 0; k < 256; k++) {
            size_t j = rng_next(&rng) % 64;
            free(keep[j]);
            size_t n = rng_range(&rng, 16, 256);
            keep[j] = xmalloc(n);
            memset(keep[j], 0x5a, n);
        }
        unsigned char *scratch = xmalloc(65536);
        memset(scratch, 1, 65536);
        bench_check(scratch[65535] == 1, "scratch buffer");
        free(scratch);
        double t = now_ms();
        double next = t0 + 10.0 * (double)((long)((t - t0) / 10.0) + 1);
        struct timespec ts = {0, (long)((next - t) * 1e6)};
        nanosleep(&ts, NULL);
        last = rss_kb();
        double dt = now_ms() - t0;
        if (t_below < 0 && last <= threshold)
            t_below = dt;
        for (int m = 0; m < 4; m++)
            if (mark_kb[m] < 0 && dt >= mark_ms[m])
                mark_kb[m] = last;
    }
    for (int j = 0; j < 64; j++)
        free(keep[j]);
    uint64_t sum = batches_free_rest(&r);
    fprintf(stderr,
            "memreturn: baseline_kb=%ld live_kb=%zu peak_kb=%ld freed_kb=%ld "
            "threshold_kb=%ld t_below_ms=%.0f rss100_kb=%ld rss250_kb=%ld "
            "rss500_kb=%ld rss1000_kb=%ld final_kb=%ld\n",
            r.baseline_kb, r.live / 1024, r.peak_kb, freed, threshold, t_below, mark_kb[0],
            mark_kb[1], mark_kb[2], mark_kb[3], last);
    bench_ok("memreturn", sum);
    return 0;
}
