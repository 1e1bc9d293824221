/*
 * profile.c - the sampled heap profile: drawing the sampling intervals,
 * recording sampled blocks (a block map of their stacks and sizes, and a
 * mark on the block's span or huge header), and writing the profile.
 *
 * Sampling is tcmalloc's and jemalloc's: the bytes between two samples
 * are drawn from an exponential distribution of mean HMM_PROFILE_RATE, so
 * sampling is a Poisson process over the bytes allocated; a block of size
 * bytes is sampled with probability 1 - exp(-size / rate), and each
 * sample stands for 1 / that probability allocations of its size.  The
 * estimates are thus unbiased whatever the sizes.
 *
 * A sampled block is given pages of its own and watched (profile.h), so
 * that its free comes to the slow path, which sees the mark and has the
 * record dropped; a
 * small block sampled costs a few pages of address space and one page of
 * memory once touched, about 1% of the memory it stands for at the
 * default rate.  realloc drops a sampled block's sample and, resized in
 * place or moved, the block gets the chance a new block of its new size
 * would have (core/realloc.c).
 *
 * The profile goes to three files in two formats.  FILE gets the
 * estimated bytes in use and FILE.alloc those allocated since the start,
 * in the folded-stack format that flame-graph tools read (FlameGraph's
 * flamegraph.pl, inferno, speedscope): one line per stack, its frames
 * outermost first separated by ';', then a space and the bytes.
 * FILE.heap gets both, as sampled, in the format pprof reads (pprof.c).
 * The writers share one walk over the samples and one list of stacks.
 * The profile is written at exit (a destructor) and when the process gets
 * SIGUSR2: the handler only sets a flag, and the next allocation that
 * reaches a slow path writes the profile (a signal handler may not
 * allocate, and writing a profile does).
 */
#define _GNU_SOURCE
#include "observe/profile.h"

#include <gnu/lib-names.h>
#include <math.h>
#include <signal.h>

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "base/random.h"
#include "core/heap.h"
#include "observe/blockmap.h"
#include "observe/pprof.h"

/* Set by the SIGUSR2 handler: write the profile at the next slow path. */
static volatile int requested;

static hmm_blockmap samples = HMM_BLOCKMAP_INIT;

static void on_request(int sig)
{
    (void)sig;
    requested = 1;
}

void hmm_profile_poll(void *p, size_t size)
{
    (void)p;
    (void)size;
    if (hmm_unlikely(requested))
        hmm_profile_write();
}

/* The math library's log and expm1, loaded by hmm_profile_load (libhmm
 * is linked with libc only: linked, libm cost every process about 300 KiB
 * of resident pages). */
static struct {
    __typeof__(log) *log;
    __typeof__(expm1) *expm1;
} libm;
static bool have_libm;

static const hmm_symbol libm_symbols[] = {
    {"log", (void **)&libm.log},
    {"expm1", (void **)&libm.expm1},
};

bool hmm_profile_load(void)
{
    if (!hmm_load_library(LIBM_SO, "the C library", libm_symbols, hmm_countof(libm_symbols),
                          "no heap profile"))
        return false;
    __atomic_store_n(&have_libm, true, __ATOMIC_RELEASE);
    return true;
}

/* Bytes to the next sample. */
static int64_t countdown(void)
{
    if (!hmm_opt.profile)
        return INT64_MAX;
    /* A heap made before libm is loaded (by an allocation before libhmm's
     * constructor) waits the mean; no capture can be taken then anyway. */
    if (!__atomic_load_n(&have_libm, __ATOMIC_ACQUIRE))
        return hmm_opt.profile_rate;
    /* -log(u) * rate, u uniform in (0, 1]. */
    double u = (double)((hmm_random() >> 11) + 1) * 0x1p-53;
    double d = -libm.log(u) * hmm_opt.profile_rate;
    return d < 0x1p62 ? (int64_t)d : INT64_MAX;
}

/* The hooks' sample: the next countdown, and whether to take this
 * allocation (not one of libhmm's own tracking or reports). */
static bool sample(int64_t *next)
{
    *next = countdown();
    return hmm_opt.profile && !hmm_tls_untracked;
}

/* The allocations, and their bytes, that one sample of size bytes stands
 * for: 1 / (1 - exp(-size / rate)) of them, rounded (the weight is at
 * least 1).  Only for a sample, so libm is loaded. */
typedef struct estimate {
    uint64_t count, bytes;
} estimate;

static estimate estimate_of(uint64_t size)
{
    double w = -1 / libm.expm1(-(double)size / hmm_opt.profile_rate);
    return (estimate){(uint64_t)(w + 0.5), (uint64_t)(w * (double)size + 0.5)};
}

/* The hooks' sampled: records block p of size bytes, just allocated for a
 * sample, and watches it. */
static void record(void *p, size_t size)
{
    hmm_stack *st = hmm_stack_here();
    if (!st || !hmm_blockmap_put(&samples, (uintptr_t)p, st, size))
        return;
    estimate e = estimate_of(size);
    __atomic_fetch_add(&st->alloc_samples, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&st->alloc_sampled_bytes, size, __ATOMIC_RELAXED);
    __atomic_fetch_add(&st->alloc_count, e.count, __ATOMIC_RELAXED);
    __atomic_fetch_add(&st->alloc_bytes, e.bytes, __ATOMIC_RELAXED);
    hmm_watch(p);
}

/* The hooks' unwatched: forgets sampled block p (freed or resized). */
static void forget(void *p)
{
    hmm_block_rec r;
    hmm_blockmap_take(&samples, (uintptr_t)p, &r);
}

void hmm_profile_wire(hmm_hook_table *t)
{
    t->sample = sample;
    t->sampled = record;
    t->unwatched = forget;
    t->allocated = hmm_profile_poll;
}

void hmm_profile_init(void)
{
    if (!hmm_os_catch_signal(SIGUSR2, on_request))
        hmm_warn("cannot catch SIGUSR2: the heap profile is written at exit only");
}

static void add_live(const hmm_block_rec *r, void *arg)
{
    (void)arg;
    estimate e = estimate_of(r->size);
    r->stack->samples++;
    r->stack->sampled_bytes += r->size;
    r->stack->count += e.count;
    r->stack->bytes += e.bytes;
}

/* One folded line per stack of v; frames sym cannot name (or all,
 * without one) as addresses. */
static void write_folded(hmm_out *out, hmm_symbolizer *sym, hmm_stack *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hmm_frame f[HMM_BACKTRACE_MAX];
        void *pc[HMM_BACKTRACE_MAX];
        unsigned depth = hmm_stacks_frames(sym, v[i], f, pc);
        for (unsigned j = depth; j-- > 0;) {
            if (f[j].func)
                hmm_out_puts(out, f[j].func);
            else
                hmm_out_printf(out, "%p", pc[j]);
            if (j)
                hmm_out_puts(out, ";");
        }
        hmm_out_printf(out, " %llu\n", (unsigned long long)v[i]->bytes);
    }
}

/* Writes the n stacks of v in the format of fmt to the file named by
 * tmpl. */
static void write_profile(hmm_symbolizer *sym, const char *tmpl, hmm_stack *const *v, size_t n,
                          void (*fmt)(hmm_out *, hmm_symbolizer *, hmm_stack *const *, size_t))
{
    hmm_out out;
    if (!hmm_out_open(&out, tmpl, 2, "heap profile"))
        return;
    fmt(&out, sym, v, n);
    hmm_out_close(&out);
}

void hmm_profile_write(void)
{
    if (!hmm_stacks_begin())
        return;
    requested = 0;
    char tmpl[HMM_PATH_MAX + 8];
    /* Every stack sampled since the start: FILE.alloc's and FILE.heap's,
     * FILE's among them.  Their frames are named once, by function only
     * (all a folded stack shows; pprof names frames itself): no debug
     * files.  No sample, no symbols to read (a short process, say): empty
     * folded files, a .heap of no stack. */
    for (hmm_stack *s = hmm_stack_last(); s; s = s->all) {
        s->count = s->alloc_count;
        s->bytes = s->alloc_bytes;
    }
    size_t n_all, n_live;
    hmm_stack **all = hmm_stacks_sorted(&n_all);
    hmm_symbolizer *sym = hmm_stacks_symbolizer(false, all, n_all);
    hmm_format(tmpl, sizeof tmpl, "%s.alloc", hmm_opt.profile_file);
    write_profile(sym, tmpl, all, n_all, write_folded);
    for (size_t i = 0; i < n_all; i++)
        all[i]->count = all[i]->bytes = 0;
    hmm_blockmap_each(&samples, add_live, NULL);
    hmm_stack **live = hmm_stacks_sorted(&n_live);
    write_profile(sym, hmm_opt.profile_file, live, n_live, write_folded);
    hmm_format(tmpl, sizeof tmpl, "%s.heap", hmm_opt.profile_file);
    write_profile(sym, tmpl, all, n_all, hmm_pprof_format);
    if (sym)
        hmm_symbolizer_close(sym);
    hmm_stacks_free(live);
    hmm_stacks_free(all);
    hmm_stacks_end();
}

__attribute__((destructor)) static void profile_at_exit(void)
{
    if (hmm_opt.profile)
        hmm_profile_write();
}
