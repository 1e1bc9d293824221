/*
 * realloc.c - realloc keeps the contents across every size range (tiny,
 * small up to 16 KiB, large page runs up to 1 MiB, huge mapped blocks of
 * several MiB), growing and shrinking, step by step and in jumps, for
 * plain and aligned blocks, with blocks interleaved so that some moves
 * cannot happen in place.
 */
#include <errno.h>
#include <stdio.h>

#include "tap.h"
#include "testlib.h"

static const size_t sizes[] = {
    1,
    8,
    16,
    17,
    100,
    512,
    1000,
    4000,
    4096,
    10000,
    16384,
    16385,
    40000,
    100000,
    500000,
    1 << 20,
    (1 << 20) + 1,
    (2 << 20) - 100,
    2 << 20,
    (2 << 20) + 4096,
    3 << 20,
    6 << 20,
    12 << 20,
};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

/* Every pair of sizes, both directions. */
static void test_pairs(const alloc_api *a)
{
    size_t bad = 0, pairs = 0;
    for (size_t i = 0; i < N_SIZES; i++)
        for (size_t j = 0; j < N_SIZES; j++) {
            size_t from = sizes[i], to = sizes[j], keep = from < to ? from : to;
            uint64_t tag = i * 1000 + j;
            char *p = a->alloc(from);
            if (!p)
                bail("%s: alloc(%zu) failed", a->name, from);
            fill(p, from, tag);
            char *q = a->resize(p, to);
            pairs++;
            if (!q) {
                if (bad++ < 5)
                    diag("%s: realloc %zu -> %zu failed (errno %d)", a->name, from, to, errno);
                a->release(p);
                continue;
            }
            long at = check_fill(q, keep, tag);
            if ((at >= 0 || a->usable(q) < to || !aligned_to(q, 16)) && bad++ < 5)
                diag("%s: realloc %zu -> %zu: changed at %ld, usable %zu", a->name, from, to, at,
                     a->usable(q));
            fill(q, a->usable(q), tag + 1); /* the new size is all writable */
            a->release(q);
        }
    is_int(0, (long long)bad,
           "%s: realloc between %zu pairs of sizes (1 B .. 12 MiB) keeps contents", a->name, pairs);
}

/* One block grown by small steps to 8 MiB and shrunk back, with nblocks-1
 * other blocks growing alongside so that neighbours get in the way. */
static void test_steps(const alloc_api *a, size_t nblocks)
{
    enum { MAXB = 3 };
    char *p[MAXB];
    size_t n[MAXB];
    size_t bad = 0, steps = 0;
    for (size_t b = 0; b < nblocks; b++) {
        n[b] = 1;
        p[b] = a->alloc(1);
        fill(p[b], 1, b);
    }
    for (size_t target = 2; target <= (8 << 20); target = target * 9 / 8 + 1)
        for (size_t b = 0; b < nblocks; b++) {
            char *q = a->resize(p[b], target);
            steps++;
            if (!q)
                bail("%s: realloc to %zu failed", a->name, target);
            long at = check_fill(q, n[b], b);
            if (at >= 0 && bad++ < 5)
                diag("%s: growing %zu -> %zu changed offset %ld", a->name, n[b], target, at);
            fill_range(q, n[b], target, b);
            p[b] = q;
            n[b] = target;
        }
    for (size_t target = n[0] - 1; target > 0; target = target * 7 / 8)
        for (size_t b = 0; b < nblocks; b++) {
            char *q = a->resize(p[b], target);
            steps++;
            if (!q)
                bail("%s: realloc to %zu failed", a->name, target);
            long at = check_fill(q, target, b);
            if (at >= 0 && bad++ < 5)
                diag("%s: shrinking %zu -> %zu changed offset %ld", a->name, n[b], target, at);
            p[b] = q;
            n[b] = target;
        }
    for (size_t b = 0; b < nblocks; b++)
        a->release(p[b]);
    is_int(0, (long long)bad,
           "%s: %zu block(s) grown to 8 MiB and shrunk back by steps (%zu reallocs)", a->name,
           nblocks, steps);
}

static void test_misc(const alloc_api *a)
{
    size_t bad = 0;
    for (size_t i = 0; i < N_SIZES; i++) {
        char *p = a->alloc(sizes[i]);
        fill(p, sizes[i], i);
        char *q = a->resize(p, sizes[i]);
        if (!q || check_fill(q, sizes[i], i) != -1)
            bad++;
        a->release(q ? q : p);
    }
    is_int(0, (long long)bad, "%s: realloc to the same size keeps the contents", a->name);

    bad = 0;
    for (size_t align = 32; align <= (1 << 20); align <<= 3) {
        char *p = a->aligned(align, 5000);
        fill(p, 5000, align);
        char *q = a->resize(p, 300000);
        if (!q || check_fill(q, 5000, align) != -1)
            bad++;
        else
            p = q;
        q = a->resize(p, 3000);
        if (!q || check_fill(q, 3000, align) != -1)
            bad++;
        else
            p = q;
        a->release(p);
    }
    is_int(0, (long long)bad, "%s: aligned blocks keep their contents through realloc", a->name);

    /* realloc(p, 0): glibc frees p and returns NULL; a unique pointer is
     * also allowed.  Either way nothing may crash or leak. */
    char *p = a->alloc(100);
    char *q = a->resize(p, 0);
    if (q)
        a->release(q);
    ok(1, "%s: realloc(p, 0) returned %s", a->name, q ? "a pointer (freed)" : "NULL (p freed)");
}

int main(void)
{
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++) {
        test_pairs(&test_apis[i]);
        test_steps(&test_apis[i], 1);
        test_steps(&test_apis[i], 3);
        test_misc(&test_apis[i]);
    }
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
