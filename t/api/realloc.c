/*
 * realloc.c - realloc keeps the contents across every size range (tiny,
 * small up to 16 KiB, large page runs up to 1 MiB, huge mapped blocks of
 * several MiB), growing and shrinking, step by step and in jumps, for
 * plain and aligned blocks, with blocks interleaved so that some moves
 * cannot happen in place.  Built a second time as t/api/realloc-sampled,
 * which runs the same checks with the heap profile sampling every
 * allocation: a sampled block keeps its contents and, like any other, is
 * resized in place where it can be.
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

/* "In place when it can": within the usable size, when shrinking a page
 * run, and when growing into a free neighbour. */
static void test_in_place(const alloc_api *a)
{
    size_t moved = 0;
    for (size_t i = 0; i < N_SIZES; i++) {
        char *p = a->alloc(sizes[i]);
        size_t u = a->usable(p);
        fill(p, sizes[i], i);
        char *q = a->resize(p, u);
        if (q != p && moved++ < 5)
            diag("%s: realloc of a %zu-byte block to its usable size %zu moved it", a->name,
                 sizes[i], u);
        a->release(q ? q : p);
    }
    is_int(0, (long long)moved, "%s: realloc within the usable size stays in place", a->name);

    char *p = a->alloc(1 << 20);
    fill(p, 600000, 3);
    char *q = a->resize(p, 600000);
    ok(q == p && check_fill(q, 600000, 3) == -1,
       "%s: shrinking a 1 MiB block to 600 KB stays in place", a->name);
    a->release(q ? q : p);

    /* Two neighbouring page runs: free the second, grow the first into it. */
    size_t tried = 0, in_place = 0;
    for (size_t n = 40000; n <= 400000; n += 60000) {
        p = a->alloc(n);
        q = a->alloc(n);
        size_t u = a->usable(p);
        if ((uintptr_t)q > (uintptr_t)p && (uintptr_t)q - (uintptr_t)p < u + 8192) {
            tried++;
            fill(p, n, n);
            a->release(q);
            q = a->resize(p, n + n / 2);
            if (q == p)
                in_place++;
            else
                diag("%s: growing a %zu-byte block into its free neighbour moved it", a->name, n);
            if (!q || check_fill(q, n, n) != -1)
                bail("realloc lost contents");
            a->release(q);
        } else {
            a->release(p);
            a->release(q);
        }
    }
    if (tried)
        is_int((long long)tried, (long long)in_place,
               "%s: a large block grows in place into a free neighbour (%zu cases)", a->name,
               tried);
    else
        skip(1, "%s: no two large blocks came out adjacent", a->name);
}

int main(int argc, char **argv)
{
    (void)argc;
#ifdef HMM_TEST_SAMPLED
    /* Written under the build tree at exit (t/api/tmp.* is removed by make
     * clean). */
    tap_run_with_env("HMM_PROFILE", "t/api/tmp.realloc-sampled", argv);
    tap_run_with_env("HMM_PROFILE_RATE", "1", argv);
#else
    (void)argv;
#endif
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++) {
        test_pairs(&test_apis[i]);
        test_steps(&test_apis[i], 1);
        test_steps(&test_apis[i], 3);
        test_misc(&test_apis[i]);
        test_in_place(&test_apis[i]);
    }
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
