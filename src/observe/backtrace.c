/*
 * backtrace.c - taking call stacks inside the allocator (libgcc's unwinder
 * for a thread's first captures, libunwind for the others) and naming
 * their frames at report time (elfutils' libdw, or elfsyms.c for names
 * alone); and loading the libraries that do it.
 *
 * Taking a stack: both unwinders walk each module's call-frame information
 * (.eh_frame, which every x86_64 ELF module carries, frame pointers or
 * not: Debian builds without them), neither calls malloc, and both give
 * the same return addresses.  They differ in what they keep:
 *
 * - libunwind's unw_backtrace keeps a per-thread cache of what it learned
 *   of each return address, so a warm capture costs a few hundred cycles.
 *   But it maps and clears that cache (16384 entries, 256 KiB) at a
 *   thread's first capture and unmaps it at its exit, and walks frames it
 *   has not seen with a signal mask changed around each lookup: a new
 *   thread's first capture costs about 250000 cycles, and the cache's 64
 *   pages are 64 page faults (15-18 us each on the VMs measured: 1 ms).
 * - libgcc's _Unwind_Backtrace keeps nothing: it finds each frame's entry
 *   with glibc's lock-free _dl_find_object (GCC 12, glibc 2.35) and reads
 *   it again every time, about 8000 cycles a capture, cold or warm.
 *
 * So a thread takes its first HMM_BACKTRACE_FIRST captures with libgcc
 * and the rest with libunwind: a short-lived thread (a profile samples a
 * few of its allocations) never pays for a cache it would not use, and a
 * long-lived one (or any thread in leaks mode, which captures at every
 * allocation) pays for it once it has spent about as much without: 256
 * captures at 8000 cycles.  (At 32, larson's threads, whose lives span a
 * few dozen samples, took 4000 more page faults under the profile than
 * without it, 83% of them clearing libunwind's caches, and ran 5% slower
 * than at 256.)
 * glibc's backtrace() is no substitute: it loads libgcc_s with dlopen,
 * which allocates, at its first call.  Should a capture still reach malloc
 * (say, a pthread_setspecific of libunwind's growing the thread's key
 * table), hmm_tls_untracked is set and that allocation is simply not
 * tracked.
 *
 * Loading them: libhmm is linked with nothing but libc.  libgcc_s and
 * libunwind (and libm, for the profile) are loaded with dlopen by
 * hmm_features_start (api/features.c), before main, only when the leak report or the heap
 * profile is on.  Linked, they cost every process about 0.25 ms of CPU at
 * its start and 0.1 to 0.25 MiB of resident memory (bench/results/rss.md),
 * and libunwind exports
 * backtrace and _Unwind_Backtrace, which replaced glibc's backtrace() in
 * every program run under libhmm.  Loaded RTLD_LOCAL, none of their
 * symbols interposes on the program's, and each function is looked up in
 * the library meant: _Unwind_Backtrace in libgcc_s, though libunwind has
 * one too (built on its stepping without the trace cache: about twice
 * libgcc's cost per capture).  Until they are loaded a capture takes
 * nothing, so what is allocated before (the loader's, other libraries'
 * constructors) is not tracked.
 *
 * Naming frames: the leak report's, with file and line, by libdw, which
 * reads the modules listed in /proc/self/maps, the symbol tables (.symtab
 * included, so a program needs no -rdynamic) of those that hold a frame
 * to name, their DWARF line tables, or separate debug files under
 * /usr/lib/debug.  It allocates freely, so it runs only when a report is
 * written, and is loaded then (libdw and what it needs, libelf, zlib,
 * bzip2 and lzma, added about a millisecond to the start of every process
 * when linked).  The heap profile's, by function only, from the symbol
 * tables of the modules' files, read by elfsyms.c with libelf alone.
 * Either way each module's table is read in one pass that names all its
 * frames.  Without names, a report shows addresses.
 */
#define _GNU_SOURCE
#include "observe/backtrace.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <gnu/lib-names.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include "base/diag.h"
#include "base/os.h"
#include "core/heap.h"
#include "observe/elfsyms.h"

__thread bool hmm_tls_untracked __attribute__((tls_model("initial-exec")));

/* Captures hold it for reading, fork for writing, so that a child never
 * inherits an unwinder's lock or cache mid-update (libunwind's caches,
 * libgcc's list of frame tables registered at run time).  Writers first: a
 * stream of captures in other threads must not hold a fork off forever (no
 * capture nests in another, see hmm_tls_untracked). */
static pthread_rwlock_t capture_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

struct hmm_unwinders hmm_unwind;
/* Set once hmm_unwind is: a capture before it takes nothing. */
static bool unwinders_loaded;

/* Captures the thread has taken, up to HMM_BACKTRACE_FIRST. */
static __thread unsigned captures __attribute__((tls_model("initial-exec")));

struct trace {
    void **pc;
    unsigned n, max;
    bool skip; /* the first frame is hmm_backtrace's own */
};

static _Unwind_Reason_Code add_frame(struct _Unwind_Context *ctx, void *arg)
{
    struct trace *t = arg;
    void *pc = (void *)hmm_unwind.get_ip(ctx);
    if (!pc || t->n == t->max) /* 0: the outermost frame (_start, a thread's start) */
        return _URC_END_OF_STACK;
    if (t->skip)
        t->skip = false;
    else
        t->pc[t->n++] = pc;
    return _URC_NO_REASON;
}

unsigned hmm_backtrace(void **pc, unsigned max)
{
    unsigned n = 0;
    if (!__atomic_load_n(&unwinders_loaded, __ATOMIC_ACQUIRE))
        return 0;
    pthread_rwlock_rdlock(&capture_lock);
    if (captures < HMM_BACKTRACE_FIRST) {
        captures++;
        struct trace t = {pc, 0, max, true};
        hmm_unwind.first(add_frame, &t);
        n = t.n;
    } else {
        /* Without hmm_backtrace's own frame, as above: one call site, one
         * stack, whichever unwinder took it. */
        void *all[HMM_BACKTRACE_MAX + 1];
        int got = hmm_unwind.later(all, (int)max + 1);
        if (got > 1) {
            n = (unsigned)got - 1;
            memcpy(pc, all + 1, n * sizeof *pc);
        }
    }
    pthread_rwlock_unlock(&capture_lock);
    return n;
}

void hmm_backtrace_atfork(enum hmm_fork_phase phase)
{
    if (phase == HMM_FORK_PREPARE)
        pthread_rwlock_wrlock(&capture_lock);
    else if (phase == HMM_FORK_PARENT)
        pthread_rwlock_unlock(&capture_lock);
    else /* the child's thread id is not the writer's: unlocking would fail */
        capture_lock = (pthread_rwlock_t)PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
}

void *hmm_load_library(const char *lib, const char *package, const hmm_symbol *syms, size_t n,
                       const char *without)
{
    void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    for (size_t i = 0; handle && i < n; i++)
        if (!(*syms[i].addr = dlsym(handle, syms[i].name)))
            handle = NULL;
    if (!handle)
        hmm_warn("cannot load %s (%s): %s", lib, package, without);
    return handle;
}

/* A name as the linker sees it, macros expanded: unw_backtrace is a macro
 * of libunwind.h's in some of its versions (_ULx86_64_backtrace). */
#define STRINGIFY(f) #f
#define SYMBOL_NAME(f) STRINGIFY(f)
_Static_assert(__builtin_types_compatible_p(__typeof__(unw_backtrace) *,
                                            __typeof__(hmm_unwind.later)),
               "hmm_unwind.later is unw_backtrace");

static const hmm_symbol libgcc_symbols[] = {
    {"_Unwind_Backtrace", (void **)&hmm_unwind.first},
    {"_Unwind_GetIP", (void **)&hmm_unwind.get_ip},
};
static const hmm_symbol libunwind_symbols[] = {
    {SYMBOL_NAME(unw_backtrace), (void **)&hmm_unwind.later},
};

/* libunwind's thread-local variables (its trace cache's pointer).  A
 * library loaded with dlopen gets no room in a thread's static TLS: the
 * dynamic loader allocates its variables, with malloc, at the thread's
 * first use of them, which would be inside a capture, holding the capture
 * lock, unless hmm_backtrace_thread_start has them allocated first.
 * __tls_get_addr and its argument are the x86_64 ABI's. */
typedef struct {
    unsigned long module, offset;
} tls_index;
extern void *__tls_get_addr(tls_index *ti);
static tls_index libunwind_tls;

bool hmm_backtrace_load(void)
{
    static const char without[] = "no leak report, no heap profile";
    size_t module = 0;
    void *libunwind;
    if (!hmm_load_library(LIBGCC_S_SO, "GCC's runtime", libgcc_symbols, hmm_countof(libgcc_symbols),
                          without) ||
        !(libunwind = hmm_load_library("libunwind.so.8", "libunwind", libunwind_symbols,
                                       hmm_countof(libunwind_symbols), without)))
        return false;
    if (dlinfo(libunwind, RTLD_DI_TLS_MODID, &module) == 0)
        libunwind_tls.module = module; /* 0: it has none */
    __atomic_store_n(&unwinders_loaded, true, __ATOMIC_RELEASE);
    return true;
}

void hmm_backtrace_thread_start(void)
{
    if (!__atomic_load_n(&unwinders_loaded, __ATOMIC_ACQUIRE) || !libunwind_tls.module)
        return;
    bool untracked = hmm_tls_untracked;
    hmm_tls_untracked = true;
    __tls_get_addr(&libunwind_tls);
    hmm_tls_untracked = untracked;
}

/* The functions of libdw used here, found with dlsym. */
#define LIBDW_FUNCTIONS(X)                                                                         \
    X(dwfl_begin)                                                                                  \
    X(dwfl_end)                                                                                    \
    X(dwfl_report_begin)                                                                           \
    X(dwfl_report_end)                                                                             \
    X(dwfl_linux_proc_report)                                                                      \
    X(dwfl_linux_proc_find_elf)                                                                    \
    X(dwfl_standard_find_debuginfo)                                                                \
    X(dwfl_addrmodule)                                                                             \
    X(dwfl_module_getsymtab)                                                                       \
    X(dwfl_module_getsym_info)                                                                     \
    X(dwfl_module_getsrc)                                                                          \
    X(dwfl_lineinfo)

static struct {
#define FIELD(f) __typeof__(f) *f;
    LIBDW_FUNCTIONS(FIELD)
#undef FIELD
} dw;

static const hmm_symbol libdw_symbols[] = {
#define SYMBOL(f) {#f, (void **)&dw.f},
    LIBDW_FUNCTIONS(SYMBOL)
#undef SYMBOL
};

static Dwfl_Callbacks callbacks;

/* Loads libdw on the first call (reports are written one at a time);
 * false, with a warning the first time, when it cannot. */
static bool load_libdw(void)
{
    static int state; /* 0: not tried; 1: loaded; -1: failed */
    if (state == 0) {
        state = hmm_load_library("libdw.so.1", "elfutils", libdw_symbols,
                                 hmm_countof(libdw_symbols), "frames are shown as addresses")
                    ? 1
                    : -1;
        callbacks.find_elf = dw.dwfl_linux_proc_find_elf;
        callbacks.find_debuginfo = dw.dwfl_standard_find_debuginfo;
    }
    return state > 0;
}

/* A frame to name: its return address, the module it is in (libdw's
 * Dwfl_Module with lines, else elfsyms.c's hmm_module) and, while the
 * module's functions are read, the one that starts closest below it. */
struct named {
    void *pc;
    const void *module;
    uintptr_t start, end; /* the function found so far (end == start: no size) */
    hmm_frame frame;
};

/* The frames named, sorted by address, one entry each. */
struct hmm_symbolizer {
    Dwfl *dwfl;          /* with lines */
    hmm_module *modules; /* without */
    size_t n_modules, n;
    struct named v[];
};

static int by_pc(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* The address a frame is named by: a return address is the instruction
 * after the call, so one byte back is inside the call, on its line (and
 * in its function, when the call is the function's last instruction). */
static uintptr_t call_of(const struct named *e) { return (uintptr_t)e->pc - 1; }

/* The frames of one module, being named. */
struct run {
    struct named *v;
    size_t n;
};

/* Names a module's frames in one pass over its symbol table, however many
 * frames, rather than sorting it (libdw's own lookup, dwfl_module_addrname,
 * scans the whole table at each call: for gcc's cc1, 100000 symbols, and a
 * few thousand frames, seconds; and sorting every table cost most of a
 * short process's profile).  Each function of the table is offered to the
 * first frame at or above its start, which keeps the closest (of
 * functions starting at the same address, the last in the table); carried
 * up from there (settle), the closest function below a frame is its own
 * unless its size ends first (a size of 0, hand-written assembly, reaches
 * to the next function). */
static void offer(void *arg, uintptr_t start, uintptr_t size, const char *name)
{
    struct run *r = arg;
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (call_of(&r->v[mid]) < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->n && (!r->v[lo].frame.func || start >= r->v[lo].start)) {
        r->v[lo].start = start;
        r->v[lo].end = start + size;
        r->v[lo].frame.func = name;
    }
}

static void settle(struct run *r)
{
    const struct named *below = NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].frame.func)
            below = &r->v[i];
        uintptr_t a = call_of(&r->v[i]);
        r->v[i].frame.func =
            below && (a < below->end || below->end == below->start) ? below->frame.func : NULL;
    }
}

/* Names the frames of r, all in module m of libdw's, with their lines. */
static void name_with_lines(Dwfl_Module *m, struct run *r)
{
    int syms = dw.dwfl_module_getsymtab(m);
    for (int i = 1; i < syms; i++) {
        GElf_Sym s;
        GElf_Addr start;
        const char *name = dw.dwfl_module_getsym_info(m, i, &s, &start, NULL, NULL, NULL);
        if (name && GELF_ST_TYPE(s.st_info) == STT_FUNC && s.st_shndx != SHN_UNDEF)
            offer(r, start, s.st_size, name);
    }
    settle(r);
    for (size_t i = 0; i < r->n; i++) {
        hmm_frame *f = &r->v[i].frame;
        Dwfl_Line *line = dw.dwfl_module_getsrc(m, call_of(&r->v[i]));
        f->file = line ? dw.dwfl_lineinfo(line, NULL, &f->line, NULL, NULL, NULL) : NULL;
    }
}

/* Reads the process's modules, with libdw when lines are wanted. */
static bool read_modules(hmm_symbolizer *sym, bool lines)
{
    if (!lines)
        return (sym->modules = hmm_modules(&sym->n_modules)) != NULL;
    if (!load_libdw() || !(sym->dwfl = dw.dwfl_begin(&callbacks)))
        return false;
    dw.dwfl_report_begin(sym->dwfl);
    int err = dw.dwfl_linux_proc_report(sym->dwfl, (pid_t)hmm_os_getpid());
    return dw.dwfl_report_end(sym->dwfl, NULL, NULL) == 0 && err == 0;
}

static const void *module_at(hmm_symbolizer *sym, uintptr_t a)
{
    return sym->dwfl ? (const void *)dw.dwfl_addrmodule(sym->dwfl, a)
                     : hmm_module_at(sym->modules, sym->n_modules, a);
}

hmm_symbolizer *hmm_symbolizer_open(bool lines, void *const *pc, size_t n)
{
    hmm_symbolizer *sym = n ? hmm_alloc(sizeof *sym + n * sizeof sym->v[0], "malloc") : NULL;
    if (!sym)
        return NULL;
    sym->dwfl = NULL;
    sym->modules = NULL;
    sym->n_modules = 0;
    if (!read_modules(sym, lines)) {
        hmm_symbolizer_close(sym);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        sym->v[i] = (struct named){.pc = pc[i]};
    qsort(sym->v, n, sizeof sym->v[0], by_pc);
    sym->n = 0;
    for (size_t i = 0; i < n; i++)
        if (!sym->n || sym->v[i].pc != sym->v[sym->n - 1].pc)
            sym->v[sym->n++] = sym->v[i];
    const void *self = module_at(sym, (uintptr_t)hmm_symbolizer_open);
    for (size_t i = 0; i < sym->n; i++) {
        sym->v[i].module = module_at(sym, call_of(&sym->v[i]));
        sym->v[i].frame.in_libhmm = sym->v[i].module && sym->v[i].module == self;
    }
    /* A module's frames are next to each other, its addresses being. */
    for (size_t i = 0, j; i < sym->n; i = j) {
        for (j = i + 1; j < sym->n && sym->v[j].module == sym->v[i].module;)
            j++;
        struct run r = {&sym->v[i], j - i};
        if (!sym->v[i].module)
            continue;
        if (sym->dwfl)
            name_with_lines((Dwfl_Module *)sym->v[i].module, &r);
        else if (hmm_module_functions((hmm_module *)sym->v[i].module, offer, &r))
            settle(&r);
    }
    return sym;
}

void hmm_symbolize(hmm_symbolizer *sym, void *pc, hmm_frame *out)
{
    size_t lo = 0, hi = sym->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sym->v[mid].pc < pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out =
        lo < sym->n && sym->v[lo].pc == pc ? sym->v[lo].frame : (hmm_frame){NULL, NULL, 0, false};
}

void hmm_symbolizer_close(hmm_symbolizer *sym)
{
    if (sym->dwfl)
        dw.dwfl_end(sym->dwfl);
    hmm_modules_free(sym->modules, sym->n_modules);
    hmm_free(sym, "free");
}
