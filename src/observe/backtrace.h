/*
 * backtrace.h - call stacks for the leak report and the heap profile:
 * taken inside the allocator without allocating, named once at report
 * time.
 */
#ifndef HMM_BACKTRACE_H
#define HMM_BACKTRACE_H

#include <unwind.h>

#include "core/hooks.h"

/* Frames kept per stack: libhmm's own (up to six) and the program's. */
#define HMM_BACKTRACE_MAX 32

/* Set while the thread is inside libhmm's tracking or writing a report:
 * what it allocates then is neither tracked nor sampled, so a capture or a
 * report that reaches malloc cannot recurse or report itself. */
extern __thread bool hmm_tls_untracked __attribute__((tls_model("initial-exec")));

/* A thread's first captures use an unwinder that keeps no state per
 * thread, its later ones one that does (backtrace.c). */
#define HMM_BACKTRACE_FIRST 256

/* A function to look up in a library (hmm_load_library) and where its
 * address goes. */
typedef struct hmm_symbol {
    const char *name;
    void **addr;
} hmm_symbol;

/* Loads library lib with dlopen, its symbols kept to itself (RTLD_LOCAL:
 * none of them interposes on the program's), and stores the address of
 * each of the n functions of syms; returns its handle, or NULL, with a
 * warning naming the package that has it and what the process goes
 * without, when it cannot.  It allocates: call it with hmm_tls_untracked
 * set and no libhmm lock held. */
void *hmm_load_library(const char *lib, const char *package, const hmm_symbol *syms, size_t n,
                       const char *without);

/* The unwinders' functions (backtrace.c), found by hmm_backtrace_load. */
extern struct hmm_unwinders {
    __typeof__(_Unwind_Backtrace) *first; /* libgcc's, for a thread's first captures */
    __typeof__(_Unwind_GetIP) *get_ip;
    int (*later)(void **pc, int max); /* libunwind's unw_backtrace, for the others */
} hmm_unwind;

/* Loads libgcc_s and libunwind (see hmm_load_library); until it has, a
 * capture takes nothing.  False, with a warning, when it cannot. */
bool hmm_backtrace_load(void);
/* Has the dynamic loader allocate the calling thread's copy of libunwind's
 * thread-local variables now, untracked (it calls malloc), rather than at
 * its first capture by libunwind: for each thread, once it has a heap, and
 * for the thread that loaded the unwinders. */
void hmm_backtrace_thread_start(void);

/* Stores up to max (at most HMM_BACKTRACE_MAX) return addresses of the
 * calling thread's stack in pc, innermost first, starting with that into
 * hmm_backtrace's caller; returns how many (0 before hmm_backtrace_load). */
unsigned hmm_backtrace(void **pc, unsigned max);
/* Keeps fork from splitting a capture in progress (libunwind's caches
 * have locks a child would find held). */
void hmm_backtrace_atfork(enum hmm_fork_phase phase);

/* What a frame's address means in the program's debug information; the
 * strings stay valid until the symbolizer is closed. */
typedef struct hmm_frame {
    const char *func; /* NULL when unknown */
    const char *file; /* NULL when there is no line information (or no lines asked for) */
    int line;
    bool in_libhmm; /* in libhmm's own module */
} hmm_frame;

typedef struct hmm_symbolizer hmm_symbolizer;

/* Reads the process's modules now and names the frames whose program
 * counters hmm_backtrace stored in the n entries of pc (repeats allowed);
 * it allocates: call it with hmm_tls_untracked set and no libhmm lock
 * held.  NULL on failure or when n is 0.  With lines, frames get file
 * names and line numbers, and functions local to a stripped library their
 * names, from separate debug files where they are installed (reading
 * those costs tenths of a second and megabytes); without, names come from
 * the modules' own symbol tables.  A module that holds none of the frames
 * is not read. */
hmm_symbolizer *hmm_symbolizer_open(bool lines, void *const *pc, size_t n);
/* Describes the frame whose program counter is pc, one of those named at
 * hmm_symbolizer_open (any other is unknown). */
void hmm_symbolize(hmm_symbolizer *sym, void *pc, hmm_frame *out);
void hmm_symbolizer_close(hmm_symbolizer *sym);

#endif
