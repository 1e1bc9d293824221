/*
 * heapmap.c - the heap map: with HMM_HEAP_MAP=FILE set, libhmm appends to
 * FILE ("%p": the process id) samples of its totals (mapped, resident,
 * live, free bytes) at most every HMM_HEAP_MAP_INTERVAL ms, taken from the
 * allocating slow path, so no thread of ours runs; and snapshots of every
 * chunk page by page (the census walk) whenever live bytes pass 5/4 of
 * the last snapshot's, and at exit.  hmm-run --heap-map draws the stream;
 * its format is documented in libhmm(7), HEAP MAP.  Lines are formatted
 * into a stack buffer and written with write(2): nothing here allocates.
 */
#include "observe/heapmap.h"

#include <string.h>

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "base/stats.h"
#include "core/census.h"

/* The version written in the H line: raised when a field changes. */
#define HEAP_MAP_FORMAT 1

static struct {
    int fd;             /* -1: not open in this process */
    uint64_t pid;       /* the process that opened fd (a fork child reopens) */
    uint64_t start_ms;  /* times are from here */
    uint64_t next_ms;   /* the next sample is due then */
    uint64_t snap_live; /* live bytes at the last snapshot */
    unsigned snaps;
    /* The process id of the thread writing, 0 when none: one writer at a
     * time, the others skip their sample.  A child of fork may find its
     * parent's id there, left by a thread the child does not have: for
     * the child that is no writer. */
    uint64_t writer;
    char path[HMM_PATH_MAX + 32]; /* fd's file, for the warnings */
} stream = {.fd = -1};

static bool map_trylock(uint64_t pid)
{
    uint64_t cur = __atomic_load_n(&stream.writer, __ATOMIC_RELAXED);
    return cur != pid && __atomic_compare_exchange_n(&stream.writer, &cur, pid, false,
                                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void map_unlock(void) { __atomic_store_n(&stream.writer, 0, __ATOMIC_RELEASE); }

/* A report to the stream's open descriptor. */
static void out_start(hmm_out *o)
{
    hmm_out_open(o, "", stream.fd, "heap map");
    hmm_format(o->path, sizeof o->path, "%s", stream.path);
}

/* True when stream.fd is this process's file, opening it if need be (first
 * use, or the first in a child that fork gave our descriptor). */
static bool map_open(uint64_t now, uint64_t pid)
{
    if (stream.fd >= 0 && stream.pid == pid)
        return true;
    if (stream.fd >= 0)
        hmm_os_close(stream.fd);
    hmm_expand_path(hmm_opt.heap_map, stream.path, sizeof stream.path);
    stream.fd = hmm_os_create(stream.path);
    if (stream.fd < 0) {
        hmm_warn("cannot write the heap map to %s: %s", stream.path,
                 hmm_os_error_text(-stream.fd));
        stream.fd = -1;
        hmm_opt.heap_map[0] = '\0';
        return false;
    }
    stream.pid = pid;
    stream.start_ms = now;
    stream.snap_live = 0;
    stream.snaps = 0;
    hmm_out o;
    out_start(&o);
    hmm_out_printf(&o, "H %d %llu %zu %zu %u\n", HEAP_MAP_FORMAT, (unsigned long long)pid,
                   HMM_PAGE_SIZE, HMM_CHUNK_PAGES, hmm_opt.heap_map_interval);
    hmm_out_flush(&o);
    return true;
}

typedef struct snapshot {
    hmm_out *o;
    unsigned heap;
} snapshot;

static const char *kind_name(const hmm_span_view *v)
{
    switch (v->kind) {
    case HMM_SPAN_META:
        return "header";
    case HMM_SPAN_SLAB:
        return "slab";
    case HMM_SPAN_LARGE:
        return "large";
    case HMM_SPAN_FREE:
        return v->flags & HMM_SPAN_DIRTY ? "dirty" : "free";
    default:
        return "unknown";
    }
}

static void put_span(const hmm_span_view *v, void *arg)
{
    snapshot *s = arg;
    if (v->kind == HMM_SPAN_META)
        hmm_out_printf(s->o, "C %u %p\n", s->heap, (const void *)v->chunk);
    hmm_out_printf(s->o, "P %zu %zu %s %llu %llu %llu\n", v->first, v->npages, kind_name(v),
                   (unsigned long long)v->bsize, (unsigned long long)v->used,
                   (unsigned long long)v->count);
}

static void put_snapshot(hmm_out *o, uint64_t ms, const char *why)
{
    hmm_out_printf(o, "S %u %llu %s %llu %llu\n", ++stream.snaps, (unsigned long long)ms, why,
                   (unsigned long long)__atomic_load_n(&hmm_gstats.huge_blocks, __ATOMIC_RELAXED),
                   (unsigned long long)__atomic_load_n(&hmm_gstats.huge_bytes, __ATOMIC_RELAXED));
    snapshot s = {.o = o, .heap = 0};
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h), s.heap++)
        hmm_census_walk(h, put_span, &s);
    hmm_out_printf(o, "E %u\n", stream.snaps);
}

/* One T line, and a snapshot when live bytes grew by a quarter (so a
 * growing heap gets a logarithmic number of them) or at exit.  The caller
 * holds the map (map_trylock(pid)). */
static void write_sample(uint64_t now, uint64_t pid, bool at_exit)
{
    if (!map_open(now, pid))
        return;
    hmm_census c;
    hmm_census_all(&c);
    uint64_t huge = __atomic_load_n(&hmm_gstats.huge_bytes, __ATOMIC_RELAXED);
    uint64_t live = c.small_bytes + c.large_bytes + huge;
    uint64_t rss, rss_peak;
    hmm_os_resident(&rss, &rss_peak);
    uint64_t ms = now - stream.start_ms;
    hmm_out o;
    out_start(&o);
    hmm_out_printf(&o, "T %llu %llu %llu %llu %llu %llu\n", (unsigned long long)ms,
                   (unsigned long long)__atomic_load_n(&hmm_gstats.mapped, __ATOMIC_RELAXED),
                   (unsigned long long)rss, (unsigned long long)live,
                   (unsigned long long)(c.free_bytes + c.slab_free_bytes),
                   (unsigned long long)c.dirty_bytes);
    if (at_exit || live > stream.snap_live + stream.snap_live / 4) {
        stream.snap_live = live;
        put_snapshot(&o, ms, at_exit ? "exit" : "growth");
    }
    hmm_out_flush(&o);
    stream.next_ms = now + hmm_opt.heap_map_interval;
}

/* The hooks' tick: a sample when one is due. */
static void sample(uint64_t now)
{
    if (now < __atomic_load_n(&stream.next_ms, __ATOMIC_RELAXED))
        return;
    uint64_t pid = hmm_os_getpid();
    if (!map_trylock(pid))
        return;
    write_sample(now, pid, false);
    map_unlock();
}

void hmm_heap_map_wire(hmm_hook_table *t)
{
    t->tick = sample;
    t->tick_always = true;
}

__attribute__((destructor)) static void heap_map_at_exit(void)
{
    hmm_options_init();
    if (!hmm_opt.heap_map[0])
        return;
    /* Another thread may be writing a sample: the last word waits for it. */
    uint64_t pid = hmm_os_getpid();
    while (!map_trylock(pid))
        ;
    write_sample(hmm_os_now_ms(), pid, true);
    if (stream.fd >= 0)
        hmm_os_close(stream.fd);
    stream.fd = -1;
    /* Later destructors may allocate: no sample may reopen (and so empty)
     * the file after the last word. */
    hmm_opt.heap_map[0] = '\0';
    map_unlock();
}
