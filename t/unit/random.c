/*
 * random.c - a long randomized sequence of HmmAlloc, HmmCalloc,
 * HmmAlignedAlloc, HmmRealloc and HmmFree checked against a shadow model
 * (size, alignment, contents of every live block), with hmm_check_heap()
 * run periodically; then the same in two threads at once.  Linked with the
 * static core library, so it runs in the sanitizer build too.
 */
#include <pthread.h>
#include <stdio.h>

#include "tap.h"
#include "testlib.h"

int hmm_check_heap(void); /* src/core/heap.h; internal, 0 when consistent */

#define SLOTS 4096

typedef struct slot {
    char *p;
    size_t size, align;
    uint64_t tag;
    bool zero; /* from calloc and not written since */
} slot;

typedef struct run {
    uint64_t seed;
    size_t ops, phases;
    size_t bad_content, bad_usable, bad_align, bad_zero, checks;
    slot slots[SLOTS];
} run;

static size_t pick_size(rng *r)
{
    uint64_t x = rng_below(r, 10000);
    if (x < 6000)
        return rng_below(r, 257);
    if (x < 9500)
        return rng_below(r, 16385);
    if (x < 9970)
        return rng_below(r, 1 << 20);
    return rng_below(r, 5 << 20);
}

static void put(slot *s) { sparse_fill(s->p, s->size, s->tag); }

/* Checks the first keep bytes of what put() wrote. */
static long got(const slot *s, size_t keep) { return sparse_check(s->p, s->size, keep, s->tag); }

static void verify(run *R, slot *s, const char *when)
{
    long at = s->zero ? (all_bytes(s->p, s->size, 0) ? -1 : 0) : got(s, s->size);
    R->checks++;
    if (at >= 0 && R->bad_content++ < 5)
        diag("seed %llu: %s: %zu-byte block %p changed at offset %ld", (unsigned long long)R->seed,
             when, s->size, (void *)s->p, at);
}

static void check_new(run *R, slot *s)
{
    if (HmmUsableSize(s->p) < s->size && R->bad_usable++ < 5)
        diag("usable size %zu < %zu", HmmUsableSize(s->p), s->size);
    if (!aligned_to(s->p, s->align < 16 ? 16 : s->align) && R->bad_align++ < 5)
        diag("%p not aligned to %zu", (void *)s->p, s->align);
}

static void step(run *R, rng *r)
{
    slot *s = &R->slots[rng_below(r, SLOTS)];
    uint64_t op = rng_below(r, 100);
    if (!s->p) {
        s->size = pick_size(r);
        s->tag = rng_next(r);
        s->align = 16;
        s->zero = false;
        if (op < 60) {
            s->p = HmmAlloc(s->size);
        } else if (op < 80) {
            size_t each = 1 + rng_below(r, 16);
            s->size = s->size / each * each;
            s->p = HmmCalloc(s->size / each, each);
            s->zero = true;
        } else {
            s->align = (size_t)1 << rng_below(r, 17);
            s->p = HmmAlignedAlloc(s->align, s->size);
        }
        if (!s->p)
            bail("allocation of %zu bytes failed", s->size);
        check_new(R, s);
        if (s->zero) {
            verify(R, s, "calloc");
            if (rng_below(r, 2) == 0)
                return; /* keep it zero; checked again later */
            s->zero = false;
        }
        put(s);
        return;
    }
    verify(R, s, op < 50 ? "before free" : "before realloc");
    if (op < 50) {
        HmmFree(s->p);
        s->p = NULL;
    } else if (op < 90) {
        size_t old = s->size;
        size_t nsize = rng_below(r, 4) == 0 ? old + rng_below(r, 100) : pick_size(r);
        char *q = HmmRealloc(s->p, nsize);
        if (!q && nsize)
            bail("realloc to %zu failed", nsize);
        if (!q) {
            s->p = NULL; /* realloc(p, 0) freed it */
            return;
        }
        s->p = q;
        s->size = nsize;
        s->align = s->align > 16 && ((uintptr_t)q & (s->align - 1)) == 0 ? s->align : 16;
        check_new(R, s);
        /* Only the common prefix survives: check it, then rewrite all. */
        slot old_view = *s;
        old_view.size = old;
        if (!s->zero && got(&old_view, nsize < old ? nsize : old) >= 0 && R->bad_content++ < 5)
            diag("realloc %zu -> %zu lost contents", old, nsize);
        if (s->zero && !all_bytes(q, nsize < old ? nsize : old, 0) && R->bad_content++ < 5)
            diag("realloc %zu -> %zu of a zeroed block lost contents", old, nsize);
        s->zero = false;
        s->tag = rng_next(r);
        put(s);
    }
    /* else: a check only */
}

static void sequence(run *R, size_t phases, size_t per_phase, size_t *heap_checks)
{
    rng r;
    rng_seed(&r, R->seed);
    for (size_t ph = 0; ph < phases; ph++) {
        for (size_t i = 0; i < per_phase; i++) {
            step(R, &r);
            R->ops++;
        }
        if (hmm_check_heap() == 0) /* aborts itself when inconsistent */
            (*heap_checks)++;
    }
    for (size_t i = 0; i < SLOTS; i++)
        if (R->slots[i].p) {
            verify(R, &R->slots[i], "at the end");
            HmmFree(R->slots[i].p);
            R->slots[i].p = NULL;
        }
    if (hmm_check_heap() == 0)
        (*heap_checks)++;
}

static void report(run *R, const char *who, size_t heap_checks, size_t want_checks)
{
    is_int(0, (long long)R->bad_content,
           "%s: %zu random operations: contents match the model (%zu checks)", who, R->ops,
           R->checks);
    is_int(0, (long long)(R->bad_usable + R->bad_align),
           "%s: usable sizes and alignments are as requested", who);
    is_int((long long)want_checks, (long long)heap_checks, "%s: hmm_check_heap() passes %zu times",
           who, want_checks);
}

static run runs[3];
static size_t thread_checks[3];

static void *thread_main(void *arg)
{
    int i = (int)(intptr_t)arg;
    sequence(&runs[i], 12, 5000, &thread_checks[i]);
    return NULL;
}

int main(void)
{
    uint64_t seed = test_seed(20261126);
    plan_lazy();

    size_t checks = 0;
    runs[0].seed = seed;
    sequence(&runs[0], 40, 5000, &checks);
    report(&runs[0], "one thread", checks, 41);

    HmmStats st;
    HmmGetStats(&st);
    ok(st.huge_blocks == 0 && st.huge_bytes == 0 && st.large_blocks == 0,
       "with every block freed no large or huge block is live (%llu large, %llu huge)",
       (unsigned long long)st.large_blocks, (unsigned long long)st.huge_blocks);

    pthread_t t[2];
    for (int i = 1; i <= 2; i++) {
        runs[i].seed = seed + (uint64_t)i;
        if (pthread_create(&t[i - 1], NULL, thread_main, (void *)(intptr_t)i) != 0)
            bail("pthread_create failed");
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    report(&runs[1], "thread 1 of 2", thread_checks[1], 13);
    report(&runs[2], "thread 2 of 2", thread_checks[2], 13);
    return tap_done();
}
