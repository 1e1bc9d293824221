/*
 * backtrace.c - taking call stacks (src/observe/backtrace.c, src/observe/stacks.c): one
 * call site gives one stored stack, deep enough, whether it is taken by a
 * thread's first captures or its later ones, in the main thread, in many
 * short-lived threads, and in a child forked while other threads are
 * capturing; a capture calls no malloc; none nests in another; none is
 * taken before the unwinders are loaded; the unwinder of a thread's first
 * captures is libgcc's, and loading libunwind does not replace glibc's
 * backtrace().
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "observe/backtrace.h"
#include "observe/stacks.h"
#include "tap.h"

#define DEPTH 12       /* calls of nest() below the capture */
#define SHORT_LIVED 64 /* threads that capture a few times and exit */
/* Enough captures for a thread to pass from the unwinder of its first
 * captures to that of its later ones. */
#define MANY (4 * HMM_BACKTRACE_FIRST)

static __thread bool starting; /* in hmm_backtrace_thread_start, which allocates */

#ifndef __SANITIZE_ADDRESS__
/* malloc as seen from inside a capture: counted (AddressSanitizer keeps
 * malloc to itself, so not there). */
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
static unsigned long mallocs_in_capture;
static void count(void)
{
    if (hmm_tls_untracked && !starting)
        __atomic_fetch_add(&mallocs_in_capture, 1, __ATOMIC_RELAXED);
}
void *malloc(size_t n) { return count(), __libc_malloc(n); }
void *calloc(size_t n, size_t size) { return count(), __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { return count(), __libc_realloc(p, n); }
#endif

/* As heap.c does when a thread gets its heap. */
static void thread_start(void)
{
    starting = true;
    hmm_backtrace_thread_start();
    starting = false;
}

/* The stack at the bottom of depth calls of nest(). */
__attribute__((noinline)) static hmm_stack *nest(int depth)
{
    if (depth == 0)
        return hmm_stack_here();
    hmm_stack *s = nest(depth - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return s;
}

/* Takes n captures from one call site; the stack they all gave, NULL if
 * any failed or differed. */
static hmm_stack *captures(unsigned n)
{
    hmm_stack *first = NULL;
    for (unsigned i = 0; i < n; i++) {
        hmm_stack *s = nest(DEPTH);
        if (!s || (first && s != first))
            return NULL;
        first = s;
    }
    return first;
}

static void *in_thread(void *arg)
{
    thread_start();
    return captures((unsigned)(uintptr_t)arg);
}

static hmm_stack *thread_captures(unsigned n)
{
    pthread_t t;
    void *s = NULL;
    if (pthread_create(&t, NULL, in_thread, (void *)(uintptr_t)n) == 0)
        pthread_join(t, &s);
    return s;
}

#ifndef __SANITIZE_ADDRESS__
/* Threads that capture until told to stop, while the main thread forks. */
static volatile int stop;
static void *capture_until_stopped(void *arg)
{
    (void)arg;
    thread_start();
    while (!stop)
        if (!nest(DEPTH))
            return NULL;
    return (void *)1;
}

/* As heap.c's fork handlers do. */
static pid_t fork_as_libhmm(void)
{
    hmm_stacks_atfork(HMM_FORK_PREPARE);
    pid_t pid = fork();
    hmm_stacks_atfork(pid == 0 ? HMM_FORK_CHILD : HMM_FORK_PARENT);
    return pid;
}

/* Forks while other threads capture: in each child, the main thread
 * (its later captures) and then a new thread (its first) capture. */
static void check_fork(hmm_stack *thread_stack)
{
    enum { BUSY = 2, FORKS = 20 };
    pthread_t busy[BUSY];
    for (unsigned i = 0; i < BUSY; i++)
        pthread_create(&busy[i], NULL, capture_until_stopped, NULL);
    unsigned good = 0;
    for (unsigned i = 0; i < FORKS; i++) {
        pid_t pid = fork_as_libhmm();
        if (pid == 0) { /* the main thread (its later captures), then a new one (its first) */
            hmm_stack *s = captures(MANY);
            _exit(s && s->depth >= DEPTH + 2 && thread_captures(3) == thread_stack ? 0 : 1);
        }
        int st;
        good += pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    stop = 1;
    unsigned busy_ok = 0;
    for (unsigned i = 0; i < BUSY; i++) {
        void *r;
        pthread_join(busy[i], &r);
        busy_ok += r != NULL;
    }
    is_int(FORKS, good,
           "fork while other threads capture: the child captures, and a new thread of its gets the "
           "parent's stack");
    is_int(BUSY, busy_ok, "... and the capturing threads went on");
}
#endif

/* How many frames of s sym names func, and whether the outermost of them
 * has a file ending in file (NULL: none expected; the innermost may be in
 * a header's inline function). */
static unsigned named(hmm_symbolizer *sym, const hmm_stack *s, const char *func, const char *file,
                      bool *file_ok)
{
    unsigned n = 0;
    *file_ok = false;
    for (unsigned i = 0; i < s->depth; i++) {
        hmm_frame f;
        hmm_symbolize(sym, s->pc[i], &f);
        if (!f.func || strcmp(f.func, func) != 0)
            continue;
        n++;
        *file_ok = file
                       ? f.file && strlen(f.file) >= strlen(file) &&
                             strcmp(f.file + strlen(f.file) - strlen(file), file) == 0 && f.line > 0
                       : !f.file;
    }
    return n;
}

/* The frames of s named by function alone (the heap profile's way: the
 * modules' own symbol tables) and with lines (the leak report's: libdw):
 * the same functions of this program, static ones included (DEPTH + 1
 * frames of nest(): hmm_stack_here is inline). */
static void check_names(const hmm_stack *s)
{
    hmm_stack *const v[] = {(hmm_stack *)s};
    for (int lines = 0; lines <= 1; lines++) {
        const char *how = lines ? "with lines" : "names only";
        hmm_symbolizer *sym = hmm_stacks_symbolizer(lines, v, 1);
        if (!sym) {
            ok(false, "%s: a symbolizer", how);
            continue;
        }
        bool file_ok, main_ok;
        unsigned nests = named(sym, s, "nest", lines ? "t/unit/backtrace.c" : NULL, &file_ok);
        unsigned mains = named(sym, s, "main", lines ? "t/unit/backtrace.c" : NULL, &main_ok);
        hmm_frame f;
        hmm_symbolize(sym, (void *)((uintptr_t)s->pc[0] + 1), &f); /* not among those named */
        ok(nests == DEPTH + 1 && file_ok && named(sym, s, "captures", NULL, &(bool){0}) == 1 &&
               mains == 1 && main_ok && !f.func && !f.file,
           "%s: nest() %u times (of %u), captures() and main() named%s; a frame not asked for "
           "is not",
           how, nests, DEPTH + 1, lines ? ", with file and line" : "");
        hmm_symbolizer_close(sym);
    }
}

int main(void)
{
    plan(16);

    ok(nest(DEPTH) == NULL, "no capture before the unwinders are loaded");
    ok(!hmm_load_library("libhmm-none.so.0", "none", NULL, 0, "nothing"),
       "a library that is not there: false (and a warning)");
    if (!hmm_backtrace_load())
        bail("cannot load the unwinders");
    thread_start();
    Dl_info where;
    ok(dladdr((void *)hmm_unwind.first, &where) && strstr(where.dli_fname, "libgcc_s"),
       "_Unwind_Backtrace is libgcc's (libunwind has one too)");
    ok(dladdr((void *)hmm_unwind.later, &where) && strstr(where.dli_fname, "libunwind"),
       "unw_backtrace is libunwind's");
    /* glibc's, or AddressSanitizer's, which intercepts it. */
    void *bt = dlsym(RTLD_DEFAULT, "backtrace");
    ok(bt && dladdr(bt, &where) && !strstr(where.dli_fname, "libunwind"),
       "backtrace is not libunwind's (which, loaded, exports one too)");

    hmm_stack *main_stack = captures(MANY);
    ok(main_stack && main_stack->depth >= DEPTH + 2,
       "main thread: %u captures from one call site give one stack, %u frames deep", MANY,
       main_stack ? main_stack->depth : 0);

    if (main_stack)
        check_names(main_stack);
    else
        skip(2, "no stack to name");

    hmm_stack *thread_stack = thread_captures(MANY);
    ok(thread_stack != NULL, "a thread's first captures and its later ones give one stack");
    ok(thread_stack && thread_stack->depth >= DEPTH + 2, "... %u frames deep",
       thread_stack ? thread_stack->depth : 0);

    unsigned same = 0;
    for (unsigned i = 0; i < SHORT_LIVED; i++)
        same += thread_captures(1 + i % 3) == thread_stack;
    is_int(SHORT_LIVED, same, "short-lived threads: the same stack");

    hmm_tls_untracked = true;
    hmm_stack *nested = nest(DEPTH);
    hmm_tls_untracked = false;
    ok(nested == NULL, "no capture while the thread is inside one (hmm_tls_untracked)");

#ifndef __SANITIZE_ADDRESS__
    is_int(0, (long long)mallocs_in_capture, "no malloc inside a capture");
#else
    skip(1, "malloc is AddressSanitizer's");
#endif

#ifndef __SANITIZE_ADDRESS__
    check_fork(thread_stack);
#else
    /* GCC 12's AddressSanitizer takes no lock of its allocator at fork: a
     * child forked while a capturing thread allocates can block for ever
     * in its first malloc (seen: in the new thread's start).  libhmm's own
     * fork handling is checked in the plain build. */
    skip(2, "fork with threads allocating: AddressSanitizer's allocator is not fork-safe");
#endif

    ok(main_stack && thread_stack && main_stack != thread_stack,
       "a thread's stack is not the main thread's");
    return tap_done();
}
