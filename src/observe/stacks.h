/*
 * stacks.h - the table of distinct call stacks that allocated: each stack
 * is stored once and never freed, so a block's record holds a pointer.
 */
#ifndef HMM_STACKS_H
#define HMM_STACKS_H

#include "observe/backtrace.h"

typedef struct hmm_stack {
    struct hmm_stack *next; /* in its hash bucket */
    struct hmm_stack *all;  /* the stack made before this one */
    uint64_t hash;
    /* Heap profile: the allocations sampled since the start and their
     * bytes, as taken (for pprof, which weights them itself) and as
     * estimates of every allocation (each sample weighted, profile.c). */
    uint64_t alloc_samples, alloc_sampled_bytes, alloc_count, alloc_bytes;
    /* A report's sums (leaks.c, profile.c), between hmm_stacks_begin and
     * hmm_stacks_end; the heap profile's live samples also as taken. */
    uint64_t count, bytes, samples, sampled_bytes;
    unsigned depth;
    void *pc[];
} hmm_stack;

/* The stack of depth frames pc, stored (once); NULL when out of memory. */
hmm_stack *hmm_stack_intern(void *const *pc, unsigned depth);

/* The calling thread's stack, stored; NULL when out of memory, before
 * the unwinders are loaded (hmm_backtrace_load), or when the thread is
 * already inside libhmm's tracking (hmm_tls_untracked).  Inline: a frame
 * less for the unwinder to walk at every capture (about 90 instructions
 * with libunwind's cache, 1500 with libgcc's unwinder). */
hmm_inline hmm_stack *hmm_stack_here(void)
{
    if (hmm_tls_untracked)
        return NULL;
    hmm_tls_untracked = true;
    void *pc[HMM_BACKTRACE_MAX];
    unsigned depth = hmm_backtrace(pc, HMM_BACKTRACE_MAX);
    hmm_stack *s = depth ? hmm_stack_intern(pc, depth) : NULL;
    hmm_tls_untracked = false;
    return s;
}
/* The stack stored last; the others follow through ->all. */
hmm_stack *hmm_stack_last(void);
void hmm_stacks_atfork(enum hmm_fork_phase phase);

/* Starts a report: marks the thread untracked (reports allocate) and
 * waits for any other report, then zeroes every stack's sums.
 * False, and nothing started, when the thread is inside libhmm's
 * tracking already (a report cannot be written from there). */
bool hmm_stacks_begin(void);
void hmm_stacks_end(void);
/* The stacks whose bytes are not zero, largest first (for the caller to
 * free with hmm_stacks_free); NULL when there are none or memory is
 * short. */
hmm_stack **hmm_stacks_sorted(size_t *n);
void hmm_stacks_free(hmm_stack **v);
/* A symbolizer (hmm_symbolizer_open) for the frames of the n stacks of
 * v; NULL when there are none or it cannot be had. */
hmm_symbolizer *hmm_stacks_symbolizer(bool lines, hmm_stack *const *v, size_t n);
/* Names the frames of s that are the program's (the unwinder's and
 * libhmm's own, innermost, are left out): stores them, innermost first,
 * in out (HMM_BACKTRACE_MAX entries) and their addresses in pc; returns
 * how many.  sym is one made for s (hmm_stacks_symbolizer) or NULL: every
 * frame, unnamed. */
unsigned hmm_stacks_frames(hmm_symbolizer *sym, const hmm_stack *s, hmm_frame *out, void **pc);

#endif
