/*
 * purge.c - memory that stays unused goes back to the kernel: after large
 * and small blocks are freed and HMM_PURGE_DELAY has passed, the process's
 * resident set must shrink (measured by the kernel, in /proc/self/statm),
 * while blocks still live keep their contents.  Runs with
 * HMM_PURGE_DELAY=20 (the test re-executes itself to set it before libhmm
 * reads its options).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

#define DELAY_MS "20"

static long resident_kib(void)
{
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &res) != 2)
        bail("cannot read /proc/self/statm");
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to two seconds, nudging the allocator's slow paths (where purging
 * happens) every 25 ms, until the resident set is below target KiB.
 * Returns the resident set reached. */
static long settle(long target)
{
    long res = resident_kib();
    for (int i = 0; i < 80 && res > target; i++) {
        sleep_ms(25);
        for (int k = 0; k < 4; k++) {
            void *p = HmmAlloc(300000); /* a large block: page-run slow path */
            void *q = HmmAlloc(100);
            HmmFree(p);
            HmmFree(q);
        }
        res = resident_kib();
    }
    return res;
}

static void test_large(void)
{
    enum { N = 160, SIZE = 256 * 1024 }; /* 40 MiB */
    static char *blocks[N];
    long base = resident_kib();
    char *keep = HmmAlloc(SIZE);
    fill(keep, SIZE, 1);
    for (size_t i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(SIZE);
        if (!blocks[i])
            bail("HmmAlloc(%d) failed", SIZE);
        memset(blocks[i], (int)i, SIZE);
    }
    long peak = resident_kib();
    for (size_t i = 0; i < N; i++)
        HmmFree(blocks[i]);
    long after = settle(peak - 24 * 1024);
    ok(after <= peak - 24 * 1024,
       "40 MiB of freed large blocks go back to the kernel (resident %ld -> %ld -> %ld KiB)", base,
       peak, after);
    ok(check_fill(keep, SIZE, 1) == -1, "a live large block keeps its contents meanwhile");
    HmmFree(keep);
}

static void test_small(void)
{
    enum { N = 300000, SIZE = 112 }; /* about 32 MiB */
    char **blocks = HmmAlloc(N * sizeof *blocks);
    char *keep[64];
    for (size_t i = 0; i < 64; i++) {
        keep[i] = HmmAlloc(SIZE);
        fill(keep[i], SIZE, i);
    }
    for (size_t i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(SIZE);
        if (!blocks[i])
            bail("HmmAlloc(%d) failed", SIZE);
        memset(blocks[i], 0x77, SIZE);
    }
    long peak = resident_kib();
    for (size_t i = 0; i < N; i++)
        HmmFree(blocks[i]);
    HmmFree(blocks);
    long after = settle(peak - 16 * 1024);
    ok(after <= peak - 16 * 1024,
       "32 MiB of freed small blocks go back to the kernel (resident %ld -> %ld KiB)", peak, after);
    size_t bad = 0;
    for (size_t i = 0; i < 64; i++) {
        bad += check_fill(keep[i], SIZE, i) != -1;
        HmmFree(keep[i]);
    }
    is_int(0, (long long)bad, "live small blocks keep their contents meanwhile");
}

static void test_huge(void)
{
    enum { N = 6, SIZE = 8 << 20 }; /* 48 MiB */
    char *blocks[N];
    for (size_t i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(SIZE);
        if (!blocks[i])
            bail("HmmAlloc(%d) failed", SIZE);
        memset(blocks[i], 1, SIZE);
    }
    long peak = resident_kib();
    for (size_t i = 0; i < N; i++)
        HmmFree(blocks[i]);
    long after = settle(peak - 32 * 1024);
    ok(after <= peak - 32 * 1024,
       "48 MiB of freed huge blocks go back to the kernel (resident %ld -> %ld KiB)", peak, after);
}

int main(int argc, char **argv)
{
    (void)argc;
    tap_run_with_env("HMM_PURGE_DELAY", DELAY_MS, argv);
    plan(5);
    diag("HMM_PURGE_DELAY=%s", DELAY_MS);
    test_large();
    test_small();
    test_huge();
    return tap_done();
}
