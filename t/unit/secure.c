/*
 * secure.c - secure mode (HMM_SECURE=1): a write one byte past the size
 * asked of a block of any size aborts at free and realloc, naming the size
 * and how far past its end the write was, a write into a freed block is reported
 * before the block is used again, freed blocks wait in a quarantine, fresh
 * slab blocks come in random order, and ordinary work (realloc, calloc,
 * aligned blocks, threads freeing each other's blocks) runs clean with the
 * heap check passing.  The test re-executes itself to set HMM_SECURE=1
 * before libhmm reads its options; each attack runs in a child whose one
 * line of stderr is checked.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "tap.h"
#include "testlib.h"

int hmm_check_heap(void); /* src/core/heap.h; internal, 0 when consistent */

/* One byte past the usable size of a block of size bytes changed, then
 * free or realloc.  Flipped rather than set: a set byte left the canary
 * as it was whenever that byte of it was already the one written (1 time
 * in 256). */
static char *overflow(size_t size)
{
    char *p = HmmAlloc(size);
    bad_ptr = p;
    ((volatile char *)p)[HmmUsableSize(p)] ^= 1;
    return p;
}
static size_t overflow_size; /* the size the cases below ask for */
static void overflow_free(void) { HmmFree(overflow(overflow_size)); }
static void overflow_realloc(void) { HmmFree(HmmRealloc(overflow(overflow_size), overflow_size + 1)); }
/* Past a block whose size asked fills it (24 bytes and the end word in a
 * 32-byte block): eight bytes written reach the record of the size. */
static void overflow_full_far(void)
{
    /* A size the compiler cannot see, and stores rather than a memset:
     * _FORTIFY_SOURCE (the .deb's build) would stop the memset first. */
    static volatile size_t size = 24;
    size_t n = size;
    char *p = HmmAlloc(n);
    bad_ptr = p;
    for (size_t i = n; i < n + 8; i++)
        ((volatile char *)p)[i] = 0;
    HmmFree(p);
}

/* A one-byte overflow at every kind of size (small, a full small block,
 * large, huge), caught at free and at realloc, named with the size asked. */
static void test_overflows(void)
{
    static const size_t sizes[] = {1,     12,     13,     16,     24,      64,      72,
                                   100,   1000,   4368,   16384,  16385,   20000,   100000,
                                   1 << 20, 2 << 20, (2 << 20) + 1, 3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char what[128], desc[128];
        overflow_size = sizes[i];
        snprintf(what, sizeof what, "heap overflow: 1 byte past the end of a %zu-byte block at",
                 sizes[i]);
        snprintf(desc, sizeof desc, "one byte past a %zu-byte block, at free", sizes[i]);
        expect_abort(desc, overflow_free, "HmmFree", what);
        snprintf(desc, sizeof desc, "one byte past a %zu-byte block, at realloc", sizes[i]);
        expect_abort(desc, overflow_realloc, "HmmRealloc", what);
    }
    expect_abort("eight bytes past a full 24-byte block", overflow_full_far, "HmmFree",
                 "heap overflow: past the end of a block of at most 24 bytes at");
}

/* Frees enough other blocks of size bytes to push p out of the quarantine. */
static void churn(size_t size, int rounds)
{
    for (int i = 0; i < rounds; i++)
        HmmFree(HmmAlloc(size));
}
static void uaf_small_quarantined(void)
{
    char *p = HmmAlloc(64);
    bad_ptr = p;
    HmmFree(p);
    ((volatile char *)p)[20] = 1;
    churn(64, 1000);
}
static void uaf_large_quarantined(void)
{
    char *p = HmmAlloc(100000);
    bad_ptr = p;
    HmmFree(p);
    ((volatile char *)p)[3000] = 1;
    churn(64, 1000);
}
static void uaf_small_reused(void)
{
    /* p leaves the quarantine intact, is written while on its slab's free
     * list, and must be caught when a malloc would hand it out.  Its
     * neighbour stays allocated, so p's slab never empties (a released
     * slab's blocks are carved afresh), and twice as many blocks as were
     * freed are asked for, so every free block is reached, whatever the
     * heap's slab sizes. */
    enum { N = 400 };
    static void *other[2 * N];
    char *p = HmmAlloc(80);
    void *neighbour = HmmAlloc(80);
    for (int i = 0; i < N; i++)
        other[i] = HmmAlloc(80);
    bad_ptr = p;
    HmmFree(p);
    for (int i = 0; i < N; i++)
        HmmFree(other[i]);
    ((volatile char *)p)[40] = 1;
    for (int i = 0; i < 2 * N; i++)
        other[i] = HmmAlloc(80);
    HmmFree(neighbour);
}
static void uaf_at_exit(void)
{
    char *p = HmmAlloc(64);
    bad_ptr = p;
    HmmFree(p);
    ((volatile char *)p)[30] = 1;
    exit(0); /* with the block still in the quarantine */
}
static void double_free_quarantined(void)
{
    char *p = HmmAlloc(64);
    bad_ptr = p;
    HmmFree(p);
    churn(64, 10);
    HmmFree(p);
}

static void test_usable(void)
{
    int good = 1;
    for (size_t size = 0; size <= 20000; size += size < 300 ? 1 : 997) {
        char *p = HmmAlloc(size);
        size_t u = HmmUsableSize(p);
        good &= p != NULL && u == size;
        memset(p, 0x5c, u); /* every byte it was told it has */
        HmmFree(p);
    }
    ok(good, "blocks of 0-20000 bytes are usable as asked, to the byte, and every byte can be "
             "written and freed");
}

static void test_quarantine(void)
{
    enum { N = 200 };
    void *blocks[N];
    void *p = HmmAlloc(48);
    HmmFree(p);
    int reused = -1;
    for (int i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(48);
        if (blocks[i] == p && reused < 0)
            reused = i;
    }
    for (int i = 0; i < N; i++)
        HmmFree(blocks[i]);
    is_int(-1, reused, "a freed block is not handed out by the next %d allocations of its size", N);
}

static void test_shuffle(void)
{
    enum { N = 64 };
    void *blocks[N];
    int up = 1, down = 1;
    for (int i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(720); /* a class nothing else here uses */
        if (i > 0) {
            up &= blocks[i] > blocks[i - 1];
            down &= blocks[i] < blocks[i - 1];
        }
    }
    ok(!up && !down, "%d blocks of a fresh class are not handed out in address order", N);
    for (int i = 0; i < N; i++)
        HmmFree(blocks[i]);
}

static void test_realloc(void)
{
    char *p = NULL;
    size_t size = 0, bad = 0;
    for (size_t next = 1; next <= 3 * 1024 * 1024; next += next / 3 + 1) {
        p = HmmRealloc(p, next);
        if (!p)
            bail("HmmRealloc(%zu) failed", next);
        bad += check_fill(p, size, 7) != -1;
        fill(p, next, 7);
        size = next;
    }
    for (size_t next = size; next > 10; next /= 3) {
        p = HmmRealloc(p, next);
        bad += check_fill(p, next, 7) != -1;
    }
    HmmFree(p);
    is_int(0, (long long)bad, "realloc growing to 3 MiB and shrinking keeps the contents");
}

static void test_calloc(void)
{
    enum { N = 300 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = HmmAlloc(i % 2 ? 200 : 40000);
        memset(blocks[i], 0xff, i % 2 ? 200 : 40000);
    }
    for (int i = 0; i < N; i++)
        HmmFree(blocks[i]);
    size_t nonzero = 0;
    for (int i = 0; i < N; i++) {
        size_t size = i % 2 ? 200 : 40000;
        unsigned char *p = blocks[i] = HmmCalloc(1, size);
        for (size_t j = 0; j < size; j++)
            nonzero += p[j] != 0;
    }
    for (int i = 0; i < N; i++)
        HmmFree(blocks[i]);
    is_int(0, (long long)nonzero, "calloc returns zeroed blocks where poisoned ones were freed");
}

static void test_aligned(void)
{
    int good = 1;
    for (size_t align = 16; align <= 65536; align *= 2) {
        for (size_t size = 1; size < 200000; size = size * 5 + 3) {
            char *p = HmmAlignedAlloc(align, size);
            good &= p && (uintptr_t)p % align == 0 && HmmUsableSize(p) >= size;
            if (p) {
                memset(p, 0x3c, HmmUsableSize(p));
                HmmFree(p);
            }
        }
    }
    ok(good, "aligned blocks of 16 B-64 KiB alignment are aligned and fully usable");
}

/* Threads that free blocks other threads allocated, through a shared ring. */
enum { NTHREADS = 4, PER_THREAD = 20000, RING = 64 };
static void *ring[RING];
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
    rng r;
    rng_seed(&r, (uint64_t)(uintptr_t)arg + 1);
    for (int i = 0; i < PER_THREAD; i++) {
        size_t size = 1 + rng_below(&r, rng_below(&r, 8) ? 300 : 30000);
        char *p = HmmAlloc(size);
        memset(p, 0x11, size);
        pthread_mutex_lock(&ring_lock);
        unsigned k = (unsigned)rng_below(&r, RING);
        void *old = ring[k];
        ring[k] = p;
        pthread_mutex_unlock(&ring_lock);
        HmmFree(old);
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t t[NTHREADS];
    for (uintptr_t i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            bail("pthread_create failed");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < RING; i++)
        HmmFree(ring[i]);
    ok(1, "%d threads freeing each other's blocks run clean", NTHREADS);
    ok(hmm_check_heap() == 0, "hmm_check_heap() passes (it aborts otherwise)");
}

int main(int argc, char **argv)
{
    (void)argc;
    tap_run_with_env("HMM_SECURE", "1", argv);
    plan_lazy();
    HmmFree(HmmAlloc(1));
    test_overflows();
    expect_abort("a write into a freed small block, caught when it leaves the quarantine",
                 uaf_small_quarantined, "HmmFree", "write after free at");
    expect_abort("a write into a freed large block, caught when it leaves the quarantine",
                 uaf_large_quarantined, "HmmFree", "write after free at");
    expect_abort("a write into a free small block, caught when it would be handed out",
                 uaf_small_reused, "HmmAlloc", "write after free at");
    expect_abort("a write into a freed block still in the quarantine at exit", uaf_at_exit,
                 "exit", "write after free at");
    expect_abort("a second free of a quarantined block", double_free_quarantined, "HmmFree",
                 "double free");
    test_usable();
    test_quarantine();
    test_shuffle();
    test_realloc();
    test_calloc();
    test_aligned();
    test_threads();
    ok(hmm_check_heap() == 0, "hmm_check_heap() passes at the end");
    return tap_done();
}
