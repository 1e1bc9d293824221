/*
 * dirty-limit.c - a heap keeps few dirty free pages beyond an eighth of
 * the pages it uses (or the trim threshold): holes idle for 16 ms or more
 * are purged, the oldest first, long before the purge delay, and the
 * blocks around them keep their contents.  Runs with HMM_PURGE_DELAY set
 * to a minute (the test re-executes itself to set it before libhmm reads
 * its options), so only the dirty limit can purge them.  The sleep only
 * makes the holes old enough; nothing is timed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

int hmm_check_heap(void); /* src/core/heap.h; internal, 0 when consistent */

#define DELAY_MS "60000"

static uint64_t purged(void)
{
    HmmStats st;
    HmmGetStats(&st);
    return st.purged;
}

static void test_holes(void)
{
    /* 96 large blocks of 64 KiB, every other one freed: 48 holes (3 MiB)
     * that cannot merge, against 3 MiB in use, so the limit is the 1 MiB
     * trim threshold. */
    enum { N = 96, SIZE = 64 * 1024 };
    static char *blocks[N];
    for (size_t i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(SIZE);
        if (!blocks[i])
            bail("HmmAlloc(%d) failed", SIZE);
        fill(blocks[i], SIZE, i);
    }
    uint64_t before = purged();
    for (size_t i = 0; i < N; i += 2)
        HmmFree(blocks[i]);
    struct timespec ts = {0, 40 * 1000000L};
    nanosleep(&ts, NULL);
    /* The next span free finds the heap over its limit. */
    HmmFree(blocks[1]);
    uint64_t got = purged() - before;
    /* 49 holes, 3136 KiB, and at most the 1 MiB limit may stay. */
    ok(got >= 49 * (uint64_t)SIZE - 1024 * 1024,
       "holes idle for 40 ms are purged down to the dirty limit (%llu KiB purged)",
       (unsigned long long)(got / 1024));
    size_t bad = 0;
    for (size_t i = 3; i < N; i += 2) {
        bad += check_fill(blocks[i], SIZE, i) != -1;
        HmmFree(blocks[i]);
    }
    is_int(0, (long long)bad, "the blocks between the holes keep their contents");
    is_int(0, hmm_check_heap(), "the heap is consistent afterwards");
}

int main(int argc, char **argv)
{
    (void)argc;
    tap_run_with_env("HMM_PURGE_DELAY", DELAY_MS, argv);
    plan(3);
    test_holes();
    return 0;
}
