/*
 * spare-slabs.c - a heap keeps the slabs a batch emptied for its next
 * batch, within a budget, and lets them go when its thread exits: after a
 * batch of 192 blocks of 512 bytes is freed, its slabs stay (the current
 * one and the rest as spares); allocated again, the batch takes no new
 * slab; a batch ten times as large keeps no more than the budget (64
 * pages: of slabs of 1, 2 and then 4 pages, at most 17); the thread's
 * exit releases them.  Counted with the statistics' live slabs in a
 * thread run twice (the second adopts the first's heap, whose slabs its
 * exit released); nothing is timed.  A heap whose thread exited keeps no
 * spares either: when another thread frees the batch it left, the slabs
 * that empty are released (no thread of its own will take them again, and
 * purges reach only free spans).
 */
#include <pthread.h>

#include "tap.h"
#include "testlib.h"

enum { SMALL = 192, LARGE = 1920 };

static void *blocks[LARGE];
static uint64_t made, kept, remade, big_kept;

static uint64_t live_slabs(void)
{
    HmmStats st;
    HmmGetStats(&st);
    return st.slabs;
}

static void batch(size_t n)
{
    for (size_t i = 0; i < n; i++)
        blocks[i] = HmmAlloc(512);
}

static void unbatch(size_t n)
{
    for (size_t i = 0; i < n; i++)
        HmmFree(blocks[i]);
}

static void *run(void *arg)
{
    (void)arg;
    uint64_t base = live_slabs();
    batch(SMALL);
    made = live_slabs() - base;
    unbatch(SMALL);
    kept = live_slabs() - base;
    batch(SMALL);
    remade = live_slabs() - base;
    unbatch(SMALL);
    batch(LARGE);
    unbatch(LARGE);
    big_kept = live_slabs() - base;
    return NULL;
}

static void *leave_batch(void *arg)
{
    (void)arg;
    batch(SMALL);
    return NULL;
}

static void run_thread(void *(*fn)(void *))
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, NULL) != 0 || pthread_join(t, NULL) != 0)
        bail("thread failed");
}

int main(void)
{
    plan(7);
    /* The main thread's own heap, before any thread exits: otherwise its
     * first call would adopt an exited thread's heap. */
    HmmFree(HmmAlloc(16));
    run_thread(run);
    uint64_t before = live_slabs();
    run_thread(run);
    ok(made >= 3, "a batch of %d blocks of 512 bytes takes several slabs (%llu)", SMALL,
       (unsigned long long)made);
    is_int((long long)made, (long long)kept, "freed, its slabs stay: the current one and spares");
    is_int((long long)made, (long long)remade, "allocated again, it takes no new slab");
    ok(big_kept >= 2, "a batch of %d keeps spares too (%llu slabs)", LARGE,
       (unsigned long long)big_kept);
    ok(big_kept <= 1 + 17, "but no more than 64 pages of them (%llu slabs)",
       (unsigned long long)big_kept);
    is_int((long long)before, (long long)live_slabs(),
           "the thread's exit releases its spares with its other slabs");
    run_thread(leave_batch);
    unbatch(SMALL); /* six full outbox batches, each sent (and drained) as it fills */
    is_int((long long)before, (long long)live_slabs(),
           "a batch freed into the heap of a thread that exited leaves no spares");
    return tap_done();
}
