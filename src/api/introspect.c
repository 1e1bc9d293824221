/*
 * introspect.c - glibc's introspection calls answered by libhmm: mallinfo2,
 * mallinfo, malloc_stats, malloc_info, malloc_trim and mallopt, from the
 * heaps' census (census.c) and the process-wide counters.  Part of the
 * malloc family: exported unversioned, left out of the sanitizer build.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "core/census.h"
#include "base/diag.h"
#include "hmm.h"
#include "core/huge.h"
#include "base/options.h"
#include "core/purger.h"
#include "base/stats.h"

/* glibc's largest M_MXFAST: 80 * sizeof(size_t) / 4. */
#define GLIBC_MAX_FAST (80 * sizeof(size_t) / 4)

static uint64_t free_small_blocks(const hmm_census *c)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < HMM_NCLASS; i++)
        n += c->cls[i].free;
    return n;
}

static struct mallinfo2 info_of(const hmm_census *c)
{
    uint64_t in_use = c->small_bytes + c->large_bytes;
    return (struct mallinfo2){
        .arena = c->chunks * HMM_CHUNK_SIZE,
        .ordblks = c->free_spans,
        .smblks = free_small_blocks(c),
        .hblks = __atomic_load_n(&hmm_gstats.huge_blocks, __ATOMIC_RELAXED),
        .hblkhd = __atomic_load_n(&hmm_gstats.huge_bytes, __ATOMIC_RELAXED),
        .usmblks = 0,
        .fsmblks = c->slab_free_bytes,
        .uordblks = in_use,
        .fordblks = c->free_bytes + c->slab_free_bytes,
        /* What malloc_trim(0) could give back now. */
        .keepcost = c->dirty_bytes + hmm_huge_cached_bytes(),
    };
}

HMM_EXPORT struct mallinfo2 mallinfo2(void)
{
    hmm_census c;
    hmm_census_all(&c);
    return info_of(&c);
}

/* Saturates rather than wraps as glibc's conversion does: a figure past
 * INT_MAX then reads as "at least this much", never as a small or
 * negative number. */
static int clamp(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

HMM_EXPORT struct mallinfo mallinfo(void)
{
    struct mallinfo2 m = mallinfo2();
    return (struct mallinfo){
        .arena = clamp(m.arena),
        .ordblks = clamp(m.ordblks),
        .smblks = clamp(m.smblks),
        .hblks = clamp(m.hblks),
        .hblkhd = clamp(m.hblkhd),
        .usmblks = clamp(m.usmblks),
        .fsmblks = clamp(m.fsmblks),
        .uordblks = clamp(m.uordblks),
        .fordblks = clamp(m.fordblks),
        .keepcost = clamp(m.keepcost),
    };
}

static const char *state_name(const hmm_heap *h)
{
    switch (__atomic_load_n(&h->state, __ATOMIC_RELAXED)) {
    case HMM_HEAP_ACTIVE:
        return "active";
    case HMM_HEAP_DEAD:
        return "dead";
    default:
        return "abandoned";
    }
}

/* Written with write(2) like HmmPrintStats: nothing allocates. */
HMM_EXPORT void malloc_stats(void)
{
    hmm_census total = {0};
    unsigned nr = 0;
    hmm_printf(2, "libhmm\n");
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h), nr++) {
        hmm_census c = {0};
        hmm_census_heap(h, &c);
        hmm_census_add(&total, &c);
        hmm_printf(2,
                   "Heap %u (%s):\n"
                   "system bytes     = %llu\n"
                   "in use bytes     = %llu\n"
                   "free bytes       = %llu\n",
                   nr, state_name(h), (unsigned long long)(c.chunks * HMM_CHUNK_SIZE),
                   (unsigned long long)(c.small_bytes + c.large_bytes),
                   (unsigned long long)(c.free_bytes + c.slab_free_bytes));
    }
    struct mallinfo2 m = info_of(&total);
    hmm_printf(2,
               "Total (incl. huge blocks):\n"
               "system bytes     = %llu\n"
               "in use bytes     = %llu\n"
               "free bytes       = %llu\n"
               "huge blocks      = %llu\n"
               "huge bytes       = %llu\n"
               "max mapped bytes = %llu\n",
               (unsigned long long)(m.arena + m.hblkhd),
               (unsigned long long)(m.uordblks + m.hblkhd), (unsigned long long)m.fordblks,
               (unsigned long long)m.hblks, (unsigned long long)m.hblkhd,
               (unsigned long long)__atomic_load_n(&hmm_gstats.mapped_peak, __ATOMIC_RELAXED));
}

/* The figures shared by each heap's element and the total. */
static void print_figures(FILE *fp, const hmm_census *c)
{
    fprintf(fp, "<sizes>\n");
    for (unsigned i = 0; i < HMM_NCLASS; i++) {
        const hmm_class_census *k = &c->cls[i];
        if (k->slabs == 0)
            continue;
        fprintf(fp,
                "  <size class=\"%u\" from=\"%u\" to=\"%u\" slabs=\"%llu\" used=\"%llu\" "
                "free=\"%llu\"/>\n",
                i, i ? hmm_classes[i - 1].size + 1 : 0, hmm_classes[i].size,
                (unsigned long long)k->slabs, (unsigned long long)k->used,
                (unsigned long long)k->free);
    }
    fprintf(fp, "</sizes>\n");
    fprintf(fp, "<total type=\"small\" count=\"%llu\" size=\"%llu\"/>\n",
            (unsigned long long)c->small_blocks, (unsigned long long)c->small_bytes);
    fprintf(fp, "<total type=\"large\" count=\"%llu\" size=\"%llu\"/>\n",
            (unsigned long long)c->large_blocks, (unsigned long long)c->large_bytes);
    fprintf(fp, "<total type=\"free\" count=\"%llu\" size=\"%llu\"/>\n",
            (unsigned long long)c->free_spans,
            (unsigned long long)(c->free_bytes + c->slab_free_bytes));
    fprintf(fp, "<total type=\"dirty\" size=\"%llu\"/>\n", (unsigned long long)c->dirty_bytes);
    fprintf(fp, "<system type=\"current\" size=\"%llu\"/>\n",
            (unsigned long long)(c->chunks * HMM_CHUNK_SIZE));
}

/* stdio may allocate: no libhmm lock is held while it runs (each heap's
 * census is taken, and its lock dropped, before it is printed). */
HMM_EXPORT int malloc_info(int options, FILE *fp)
{
    if (options != 0) {
        errno = EINVAL;
        return -1;
    }
    hmm_census total = {0};
    unsigned nr = 0;
    fprintf(fp, "<malloc version=\"1\" allocator=\"libhmm\" libhmm-version=\"%s\">\n",
            PACKAGE_VERSION);
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h), nr++) {
        hmm_census c = {0};
        hmm_census_heap(h, &c);
        hmm_census_add(&total, &c);
        fprintf(fp, "<heap nr=\"%u\" state=\"%s\">\n", nr, state_name(h));
        print_figures(fp, &c);
        fprintf(fp, "</heap>\n");
    }
    print_figures(fp, &total);
    fprintf(fp, "<total type=\"huge\" count=\"%llu\" size=\"%llu\"/>\n",
            (unsigned long long)__atomic_load_n(&hmm_gstats.huge_blocks, __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&hmm_gstats.huge_bytes, __ATOMIC_RELAXED));
    fprintf(fp, "<total type=\"cached\" size=\"%llu\"/>\n",
            (unsigned long long)hmm_huge_cached_bytes());
    fprintf(fp, "<system type=\"mapped\" size=\"%llu\"/>\n",
            (unsigned long long)__atomic_load_n(&hmm_gstats.mapped, __ATOMIC_RELAXED));
    fprintf(fp, "<system type=\"max\" size=\"%llu\"/>\n",
            (unsigned long long)__atomic_load_n(&hmm_gstats.mapped_peak, __ATOMIC_RELAXED));
    fprintf(fp, "</malloc>\n");
    return 0;
}

HMM_EXPORT int malloc_trim(size_t pad)
{
    int released = hmm_heap_trim(pad, HMM_PURGE_FORCE, "malloc_trim") > 0;
    /* Other live threads were asked to trim at their next purge check;
     * for those that make no call, the purger does it. */
    hmm_purger_kick();
    return released;
}

HMM_EXPORT int mallopt(int param, int value)
{
    /* The environment is read first, so that it does not undo the call. */
    hmm_options_init();
    switch (param) {
    case M_TRIM_THRESHOLD:
        /* As glibc: a negative value reads as a huge size (never by size). */
        __atomic_store_n(&hmm_opt.trim_threshold, (size_t)(long)value, __ATOMIC_RELAXED);
        return 1;
    case M_HMM_PURGE_DELAY:
        if (value < 0 || value > HMM_PURGE_DELAY_MAX)
            return 0;
        __atomic_store_n(&hmm_opt.purge_delay, (uint32_t)value, __ATOMIC_RELAXED);
        return 1;
    case M_MXFAST:
        return value >= 0 && (size_t)value <= GLIBC_MAX_FAST;
    default:
        /* Accepted as glibc accepts them; libhmm has no such knob. */
        return 1;
    }
}
