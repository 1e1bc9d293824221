/*
 * backtrace.c - taking call stacks inside the allocator (libunwind) and
 * naming their frames at report time (elfutils' libdw).
 *
 * Taking a stack: libunwind's unw_backtrace, local-only.  It walks the
 * stack with each module's call-frame information (.eh_frame, which every
 * x86_64 ELF module carries, frame pointers or not) and keeps what it
 * learns in caches it maps itself, so it does not call malloc.  The other
 * choices fall short: frame pointers are missing from optimised code
 * (Debian builds without them), and glibc's backtrace() goes through
 * libgcc's unwinder, which loads libgcc_s with dlopen on its first call
 * and may malloc when it first sorts a registered object's frame entries.
 * Should a capture still reach malloc (say, a pthread_setspecific of
 * libunwind's growing the thread's key table), hmm_tls_untracked is set
 * and that allocation is simply not tracked.
 *
 * Naming a frame: libdw reads the modules listed in /proc/self/maps, their
 * symbol tables (.symtab included, so a program needs no -rdynamic) and
 * their DWARF line tables, or separate debug files under /usr/lib/debug.
 * It allocates freely, so it runs only when a report is written.
 */
#define _GNU_SOURCE
#include "backtrace.h"

#include <elfutils/libdwfl.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>

#include "os.h"

__thread bool hmm_tls_untracked __attribute__((tls_model("initial-exec")));

/* Captures hold it for reading, fork for writing.  Writers first: a
 * stream of captures in other threads must not hold a fork off forever
 * (no capture nests in another, see hmm_tls_untracked). */
static pthread_rwlock_t capture_lock = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

unsigned hmm_backtrace(void **pc, unsigned max)
{
    pthread_rwlock_rdlock(&capture_lock);
    int n = unw_backtrace(pc, (int)max);
    pthread_rwlock_unlock(&capture_lock);
    return n > 0 ? (unsigned)n : 0;
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

struct hmm_symbolizer {
    Dwfl *dwfl;
    Dwfl_Module *self;
    bool lines;
};

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks with_lines = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};
static const Dwfl_Callbacks names_only = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = no_debuginfo,
};

hmm_symbolizer *hmm_symbolizer_open(bool lines)
{
    hmm_symbolizer *sym = malloc(sizeof *sym);
    if (!sym)
        return NULL;
    sym->lines = lines;
    sym->dwfl = dwfl_begin(lines ? &with_lines : &names_only);
    if (!sym->dwfl) {
        free(sym);
        return NULL;
    }
    dwfl_report_begin(sym->dwfl);
    int err = dwfl_linux_proc_report(sym->dwfl, (pid_t)hmm_os_getpid());
    if (dwfl_report_end(sym->dwfl, NULL, NULL) != 0 || err != 0) {
        hmm_symbolizer_close(sym);
        return NULL;
    }
    sym->self = dwfl_addrmodule(sym->dwfl, (Dwarf_Addr)(uintptr_t)hmm_symbolizer_open);
    return sym;
}

void hmm_symbolize(hmm_symbolizer *sym, void *pc, hmm_frame *out)
{
    /* A return address is the instruction after the call: one byte back
     * is inside the call, on its line (and in its function, when the call
     * is the function's last instruction). */
    Dwarf_Addr a = (Dwarf_Addr)(uintptr_t)pc - 1;
    Dwfl_Module *m = dwfl_addrmodule(sym->dwfl, a);
    Dwfl_Line *line = m && sym->lines ? dwfl_module_getsrc(m, a) : NULL;
    out->func = m ? dwfl_module_addrname(m, a) : NULL;
    out->file = line ? dwfl_lineinfo(line, NULL, &out->line, NULL, NULL, NULL) : NULL;
    out->in_libhmm = m && m == sym->self;
}

void hmm_symbolizer_close(hmm_symbolizer *sym)
{
    dwfl_end(sym->dwfl);
    free(sym);
}
