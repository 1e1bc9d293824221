/*
 * backtrace.c - taking call stacks inside the allocator (libgcc's unwinder
 * for a thread's first captures, libunwind for the others) and naming
 * their frames at report time (elfutils' libdw); and loading the libraries
 * that do it.
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
 *   thread's first capture costs about 250000 cycles.
 * - libgcc's _Unwind_Backtrace keeps nothing: it finds each frame's entry
 *   with glibc's lock-free _dl_find_object (GCC 12, glibc 2.35) and reads
 *   it again every time, about 8000 cycles a capture, cold or warm.
 *
 * So a thread takes its first HMM_BACKTRACE_FIRST captures with libgcc
 * and the rest with libunwind: a short-lived thread (a profile samples a
 * few of its allocations) never pays for a cache it would not use, and a
 * long-lived one (or any thread in leaks mode, which captures at every
 * allocation) pays for it once it has spent about as much without.
 * glibc's backtrace() is no substitute: it loads libgcc_s with dlopen,
 * which allocates, at its first call.  Should a capture still reach malloc
 * (say, a pthread_setspecific of libunwind's growing the thread's key
 * table), hmm_tls_untracked is set and that allocation is simply not
 * tracked.
 *
 * Loading them: libhmm is linked with nothing but libc.  libgcc_s and
 * libunwind (and libm, for the profile) are loaded with dlopen by
 * hmm_heap_start, before main, only when the leak report or the heap
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
 * Naming frames: libdw reads the modules listed in /proc/self/maps, the
 * symbol tables (.symtab included, so a program needs no -rdynamic) of
 * those that hold a frame to name, each in one pass that names all its
 * frames, and their DWARF line tables, or separate debug files under
 * /usr/lib/debug.
 * It allocates freely, so it runs only when a report is written, and is
 * loaded then (libdw and what it needs, libelf, zlib, bzip2 and lzma,
 * added about a millisecond to the start of every process when linked).
 * Without it, a report shows addresses.
 */
#define _GNU_SOURCE
#include "backtrace.h"

#include <dlfcn.h>
#include <elfutils/libdwfl.h>
#include <gnu/lib-names.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include "diag.h"
#include "os.h"

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

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static Dwfl_Callbacks with_lines, names_only;

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
        with_lines.find_elf = names_only.find_elf = dw.dwfl_linux_proc_find_elf;
        with_lines.find_debuginfo = dw.dwfl_standard_find_debuginfo;
        names_only.find_debuginfo = no_debuginfo;
    }
    return state > 0;
}

/* A frame to name: its return address, the module it is in and, while
 * the module's symbols are read, the function that starts closest below
 * it. */
struct named {
    void *pc;
    Dwfl_Module *module;
    GElf_Addr start, end; /* the function found so far (end == start: no size) */
    hmm_frame frame;
};

/* The frames named, sorted by address, one entry each. */
struct hmm_symbolizer {
    Dwfl *dwfl;
    size_t n;
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
static GElf_Addr call_of(const struct named *e) { return (GElf_Addr)(uintptr_t)e->pc - 1; }

/* Names the n frames of v, all in module m, sorted: one pass over the
 * module's symbol table, however many frames, rather than sorting it
 * (libdw's own lookup, dwfl_module_addrname, scans the whole table at each
 * call: for gcc's cc1, 100000 symbols, and a few thousand frames, seconds;
 * and sorting every table cost most of a short process's profile).  Each
 * function is kept by the first frame at or above its start; carried up
 * from there, the closest function below a frame is its own unless its
 * size ends first (a size of 0, hand-written assembly, reaches to the
 * next function). */
static void name_module(Dwfl_Module *m, struct named *v, size_t n, bool lines)
{
    int syms = dw.dwfl_module_getsymtab(m);
    for (int i = 1; i < syms; i++) {
        GElf_Sym s;
        GElf_Addr start;
        const char *name = dw.dwfl_module_getsym_info(m, i, &s, &start, NULL, NULL, NULL);
        if (!name || GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF)
            continue;
        size_t lo = 0, hi = n; /* the first frame at or above start */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (call_of(&v[mid]) < start)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < n && (!v[lo].frame.func || start >= v[lo].start)) {
            v[lo].start = start;
            v[lo].end = start + s.st_size;
            v[lo].frame.func = name;
        }
    }
    const struct named *below = NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i].frame.func)
            below = &v[i];
        GElf_Addr a = call_of(&v[i]);
        v[i].frame.func = below && (a < below->end || below->end == below->start) ? below->frame.func
                                                                                 : NULL;
        Dwfl_Line *line = lines ? dw.dwfl_module_getsrc(m, a) : NULL;
        v[i].frame.file = line ? dw.dwfl_lineinfo(line, NULL, &v[i].frame.line, NULL, NULL, NULL)
                               : NULL;
    }
}

hmm_symbolizer *hmm_symbolizer_open(bool lines, void *const *pc, size_t n)
{
    hmm_symbolizer *sym = n && load_libdw() ? malloc(sizeof *sym + n * sizeof sym->v[0]) : NULL;
    if (!sym)
        return NULL;
    sym->dwfl = dw.dwfl_begin(lines ? &with_lines : &names_only);
    if (!sym->dwfl) {
        free(sym);
        return NULL;
    }
    dw.dwfl_report_begin(sym->dwfl);
    int err = dw.dwfl_linux_proc_report(sym->dwfl, (pid_t)hmm_os_getpid());
    if (dw.dwfl_report_end(sym->dwfl, NULL, NULL) != 0 || err != 0) {
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
    Dwfl_Module *self = dw.dwfl_addrmodule(sym->dwfl, (Dwarf_Addr)(uintptr_t)hmm_symbolizer_open);
    for (size_t i = 0; i < sym->n; i++) {
        sym->v[i].module = dw.dwfl_addrmodule(sym->dwfl, call_of(&sym->v[i]));
        sym->v[i].frame.in_libhmm = sym->v[i].module && sym->v[i].module == self;
    }
    /* A module's frames are next to each other, its addresses being. */
    for (size_t i = 0, j; i < sym->n; i = j) {
        for (j = i + 1; j < sym->n && sym->v[j].module == sym->v[i].module;)
            j++;
        if (sym->v[i].module)
            name_module(sym->v[i].module, &sym->v[i], j - i, lines);
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
    *out = lo < sym->n && sym->v[lo].pc == pc ? sym->v[lo].frame : (hmm_frame){NULL, NULL, 0, false};
}

void hmm_symbolizer_close(hmm_symbolizer *sym)
{
    dw.dwfl_end(sym->dwfl);
    free(sym);
}
