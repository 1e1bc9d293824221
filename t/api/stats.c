/*
 * stats.c - HmmGetStats agrees with HmmGetStats(3): every block freed by a
 * thread that does not own it counts in remote_frees (small, large, and a
 * free that is the thread's first call), and mapped is exactly the chunks,
 * the huge mappings and the heap records, as the manual says.
 */
#include <pthread.h>

#include "tap.h"
#include "testlib.h"

#define CHUNK (4 * MiB)
/* Heap records are mapped 64 KiB at a time (HmmGetStats(3)). */
#define RECORDS (64 * KiB)

static void *free_it(void *p)
{
    HmmFree(p);
    return NULL;
}

/* Frees p from a new thread (whose first call it is) and returns how far
 * remote_frees moved. */
static long long remote_delta(void *p)
{
    HmmStats a, b;
    pthread_t t;
    HmmGetStats(&a);
    if (pthread_create(&t, NULL, free_it, p) != 0)
        sysbail("pthread_create");
    pthread_join(t, NULL);
    HmmGetStats(&b);
    return (long long)(b.remote_frees - a.remote_frees);
}

static void *free_every_other(void *arg)
{
    void **blocks = arg;
    for (int i = 0; i < 3000; i += 2)
        HmmFree(blocks[i]);
    return NULL;
}

/* Blocks another thread frees into full slabs are used again: the slabs
 * go back on their class's list when the owner drains them, so refilling
 * what was freed needs no new slab. */
static void test_remote_reuse(void)
{
    static void *blocks[3000];
    for (int i = 0; i < 3000; i++)
        blocks[i] = HmmAlloc(64);
    pthread_t t;
    if (pthread_create(&t, NULL, free_every_other, blocks) != 0)
        sysbail("pthread_create");
    pthread_join(t, NULL);
    HmmStats a, b;
    HmmFree(HmmAlloc(3 * MiB)); /* a slow path: the remote frees are drained */
    HmmGetStats(&a);
    for (int i = 0; i < 3000; i += 2)
        blocks[i] = HmmAlloc(64);
    HmmGetStats(&b);
    ok(b.slabs <= a.slabs + 1,
       "1500 blocks freed by another thread are reused (slabs %llu -> %llu)",
       (unsigned long long)a.slabs, (unsigned long long)b.slabs);
    for (int i = 0; i < 3000; i++)
        HmmFree(blocks[i]);
}

int main(void)
{
    plan(6);

    is_int(1, remote_delta(HmmAlloc(48)), "a small block freed by another thread counts once");
    is_int(1, remote_delta(HmmAlloc(100 * KiB)),
           "a large block freed by another thread counts once");
    is_int(1, remote_delta(HmmAlloc(1 * MiB)), "... and one of 1 MiB");

    /* No huge blocks live and none cached: mapped is chunks and records. */
    HmmStats s;
    void *p = HmmAlloc(64);
    HmmGetStats(&s);
    unsigned long long rest = s.mapped - s.chunks * CHUNK;
    ok(s.huge_blocks == 0 && rest > 0 && rest % RECORDS == 0,
       "mapped (%llu) = %llu chunks + %llu bytes of heap records", (unsigned long long)s.mapped,
       (unsigned long long)s.chunks, rest);
    void *h = HmmAlloc(3 * MiB);
    HmmStats s2;
    HmmGetStats(&s2);
    ok(s2.huge_blocks == 1 && s2.mapped - s.mapped >= 3 * MiB,
       "a huge block adds its mapping to mapped (%llu -> %llu)", (unsigned long long)s.mapped,
       (unsigned long long)s2.mapped);
    HmmFree(h);
    HmmFree(p);
    test_remote_reuse();
    return tap_done();
}
