/*
 * slab-growth.c - a heap's slabs of a class start small and grow: the
 * first holds a page of 16-byte blocks, the next two pages, then the
 * class's four.  A thread that uses a class a little keeps one page of
 * it, not four (the pages of a heap's emptied slabs stay resident for its
 * next thread).  Counted with the statistics' live slabs, in a thread of
 * its own, so its heap is new; nothing is timed.
 */
#include <pthread.h>

#include "tap.h"
#include "testlib.h"

/* Blocks of 16 bytes in slabs of one, two and four pages. */
enum { FIRST = 4096 / 16, SECOND = 2 * 4096 / 16, THIRD = 4 * 4096 / 16 };
enum { N = FIRST + SECOND + THIRD + 1 };

static void *blocks[N];
static uint64_t slabs_after[N];

static uint64_t live_slabs(void)
{
    HmmStats st;
    HmmGetStats(&st);
    return st.slabs;
}

static void *run(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(16);
        slabs_after[i] = live_slabs();
    }
    for (size_t i = 0; i < N; i++)
        HmmFree(blocks[i]);
    return NULL;
}

/* Slabs made since the thread's first block (its start may allocate
 * other blocks, in slabs of their own, before it). */
static long long since_first(size_t i) { return (long long)(slabs_after[i] - slabs_after[0]); }

int main(void)
{
    plan(5);
    pthread_t t;
    if (pthread_create(&t, NULL, run, NULL) != 0)
        bail("pthread_create failed");
    pthread_join(t, NULL);
    is_int(0, since_first(FIRST - 1),
           "a new heap's first slab of 16-byte blocks holds a page of them (%d)", FIRST);
    is_int(1, since_first(FIRST), "block %d takes a second slab", FIRST + 1);
    is_int(1, since_first(FIRST + SECOND - 1), "which holds two pages of blocks (%d)", SECOND);
    is_int(2, since_first(N - 2), "the third holds four, the class's geometry (%d)", THIRD);
    is_int(3, since_first(N - 1), "and when it is full a fourth begins");
    return tap_done();
}
