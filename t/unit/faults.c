/*
 * faults.c - the kernel refusing a mapping call: a workload of small,
 * large, huge and aligned blocks, reallocs across the ranges and calloc of
 * purged memory is run once to count its mapping calls (mmap, mremap,
 * madvise, through os.c's fault injection), then once more for each N up to
 * that count with call N failing, each time in a fresh forked child.  A call
 * that fails must return NULL with errno ENOMEM, a failed realloc must leave
 * its block intact, hmm_check_heap() must pass, and afterwards everything
 * frees and the workload runs again without a failure.  The sweep runs with
 * the default purge delay (the huge-block cache, mremap) and with
 * HMM_PURGE_DELAY=0 (a madvise on every free of a span).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "core/heap.h"
#include "base/os.h"
#include "tap.h"
#include "testlib.h"

#define MAX_BLOCKS 64

typedef struct blk {
    char *p;
    size_t size;
    uint64_t tag;
} blk;

/* What a child reports back, in memory shared with the parent. */
typedef struct report {
    unsigned long calls;  /* mapping calls the workload made */
    unsigned long failed; /* allocation calls that returned NULL */
    int fired;            /* the injected fault happened */
} report;

static blk blocks[MAX_BLOCKS];
static size_t nblocks;
static report *rep;
static bool may_fail;

__attribute__((format(printf, 1, 2), noreturn)) static void child_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void check(const blk *b, const char *when)
{
    long at = sparse_check(b->p, b->size, b->size, b->tag);
    if (at >= 0)
        child_fail("%s: block %p of %zu bytes damaged at %ld", when, (void *)b->p, b->size, at);
}

/* A NULL is allowed only while the injected fault may still strike. */
static bool refused(const char *what, size_t size)
{
    if (!may_fail)
        child_fail("%s(%zu) failed with no fault injected", what, size);
    if (errno != ENOMEM)
        child_fail("%s(%zu) failed with errno %d, not ENOMEM", what, size, errno);
    rep->failed++;
    return true;
}

static void keep(void *p, size_t size, size_t align, bool zero, const char *what)
{
    if (!p && refused(what, size))
        return;
    if (HmmUsableSize(p) < size || !aligned_to(p, align))
        child_fail("%s(%zu): bad block %p", what, size, p);
    if (zero && !all_bytes(p, size, 0))
        child_fail("%s(%zu): %p is not zeroed", what, size, p);
    if (nblocks == MAX_BLOCKS)
        child_fail("workload: too many blocks");
    blk *b = &blocks[nblocks++];
    *b = (blk){p, size, mix64((uintptr_t)p ^ size)};
    sparse_fill(p, size, b->tag);
}

static void release(size_t i)
{
    check(&blocks[i], "free");
    HmmFree(blocks[i].p);
    blocks[i] = blocks[--nblocks];
}

/* Resizes the newest block of from bytes (none: a failed allocation). */
static void resize(size_t from, size_t size)
{
    for (size_t i = nblocks; i-- > 0;) {
        blk *b = &blocks[i];
        if (b->size != from)
            continue;
        errno = 0;
        char *q = HmmRealloc(b->p, size);
        if (!q) {
            refused("HmmRealloc", size);
            check(b, "failed realloc");
            return;
        }
        long at = sparse_check(q, b->size, size, b->tag);
        if (at >= 0)
            child_fail("realloc %zu -> %zu: contents lost at %ld", b->size, size, at);
        b->p = q;
        b->size = size;
        sparse_fill(q, size, b->tag);
        return;
    }
}

static void alloc(size_t size)
{
    errno = 0;
    keep(HmmAlloc(size), size, HMM_ALIGN, false, "HmmAlloc");
}

static void aligned(size_t align, size_t size)
{
    errno = 0;
    keep(HmmAlignedAlloc(align, size), size, align, false, "HmmAlignedAlloc");
}

/* Frees a filled block of size (its pages are purged with a purge delay
 * of 0), then asks calloc for the same size: the pages it gets back must
 * read as zero whether the purge happened or not. */
static void calloc_after_free(size_t size)
{
    alloc(size);
    if (nblocks > 0 && blocks[nblocks - 1].size == size)
        release(nblocks - 1);
    errno = 0;
    keep(HmmCalloc(1, size), size, HMM_ALIGN, true, "HmmCalloc");
}

static void workload(void)
{
    static const size_t sizes[] = {16,     100,    1000,    5000,    16384,   20000,
                                   300000, 900000, 1 * MiB, 3 * MiB, 9 * MiB, 64};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        alloc(sizes[i]);
    /* Enough large blocks for several chunks. */
    for (int i = 0; i < 6; i++)
        alloc(1536 * KiB);
    aligned(64 * KiB, 1000);
    aligned(2 * MiB, 5000);
    aligned(4 * MiB, 100000);
    aligned(8 * MiB, 3 * MiB);
    calloc_after_free(1536 * KiB);
    calloc_after_free(5 * MiB);
    resize(100, 50000);          /* small to large */
    resize(300000, 600000);      /* large, grown */
    resize(1536 * KiB, 5 * MiB); /* large to huge */
    resize(3 * MiB, 12 * MiB);   /* huge, grown by mremap */
    resize(12 * MiB, 4 * MiB);   /* huge, shrunk */
    resize(9 * MiB, 1 * MiB);    /* huge to large */
    /* Half the blocks go, so the next round reuses spans and cached pages. */
    for (size_t i = 0; i < nblocks; i += 2)
        release(i);
}

static void free_all(void)
{
    while (nblocks > 0)
        release(nblocks - 1);
}

/* The child: the workload with call fail_at failing (0: none), then the
 * checks, then a clean run. */
static int child(void *arg)
{
    unsigned long fail_at = *(unsigned long *)arg;
    hmm_os_fault_calls = 0;
    hmm_os_fail_at = fail_at;
    may_fail = fail_at != 0;
    workload();
    workload();
    rep->calls = hmm_os_fault_calls;
    rep->fired = fail_at != 0 && hmm_os_fault_calls >= fail_at;
    hmm_check_heap();
    free_all();
    hmm_check_heap();
    may_fail = false;
    workload();
    workload();
    free_all();
    hmm_check_heap();
    HmmStats st;
    HmmGetStats(&st);
    if (st.huge_blocks != 0 || st.huge_bytes != 0 || st.large_blocks != 0)
        child_fail("after freeing everything: %llu huge blocks (%llu bytes), %llu large blocks",
                   (unsigned long long)st.huge_blocks, (unsigned long long)st.huge_bytes,
                   (unsigned long long)st.large_blocks);
    return 0;
}

/* Runs the child with call n failing; true when it passed. */
static bool run(unsigned long n, char *err, size_t size)
{
    *rep = (report){0, 0, 0};
    int status = tap_run_child(child, &n, err, size);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void sweep(const char *delay)
{
    char err[2048];
    setenv("HMM_PURGE_DELAY", delay, 1);
    if (!run(0, err, sizeof err))
        bail("HMM_PURGE_DELAY=%s: the workload fails with no fault injected: %s", delay, err);
    unsigned long count = rep->calls, fired = 0, failed_calls = 0, bad = 0;
    for (unsigned long n = 1; n <= count; n++) {
        if (!run(n, err, sizeof err)) {
            if (bad++ < 5)
                diag("HMM_PURGE_DELAY=%s, mapping call %lu failing: %s", delay, n,
                     err[0] ? err : "(killed by a signal)");
            continue;
        }
        fired += rep->fired;
        failed_calls += rep->failed;
    }
    diag("HMM_PURGE_DELAY=%s: %lu mapping calls, each failed in turn: the fault struck in %lu "
         "runs, %lu allocation calls returned NULL",
         delay, count, fired, failed_calls);
    is_int(0, (long long)bad,
           "HMM_PURGE_DELAY=%s: each of %lu mapping calls failing in turn: ENOMEM, blocks intact, "
           "heap consistent, recovery",
           delay, count);
    ok(fired > 0, "HMM_PURGE_DELAY=%s: the injected faults struck (%lu times)", delay, fired);
}

int main(void)
{
    plan(4);
    rep = mmap(NULL, sizeof *rep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rep == MAP_FAILED)
        sysbail("mmap");
    sweep("250");
    sweep("0");
    return tap_done();
}
