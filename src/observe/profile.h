/*
 * profile.h - the sampled heap profile (HMM_PROFILE=FILE, hmm-run
 * --profile=FILE): one allocation in about every HMM_PROFILE_RATE bytes is
 * recorded with its stack, and the estimate they give of the live heap,
 * by stack, is written at exit and on SIGUSR2.
 *
 * The fast path pays one subtraction and branch: each heap counts down
 * the bytes left to its next sample (hmm_heap.sample_left), and the call
 * that takes it below zero goes to the slow path, which samples it.  A
 * sampled block is given pages of its own, a large block (or a huge one),
 * whose free the free fast path never takes, and is marked so; so free's
 * slow path alone finds out that a block was sampled, by a flag it reads
 * anyway.
 */
#ifndef HMM_PROFILE_H
#define HMM_PROFILE_H

#include "observe/backtrace.h"
#include "core/heap.h"
#include "base/options.h"

/* Set by the SIGUSR2 handler: write the profile at the next slow path. */
extern volatile int hmm_profile_requested;

/* Profiling set-up (the signal handler) once the options are read. */
void hmm_profile_init(void);
/* Loads the math library's functions the profile needs (see
 * hmm_load_library), before the unwinders: a sample needs them.  False,
 * with a warning, when it cannot. */
bool hmm_profile_load(void);
/* The countdown a new heap starts with. */
int64_t hmm_profile_countdown(void);
/* The countdown of heap h ran out: starts the next one; true when the
 * allocation is to be sampled. */
bool hmm_profile_restart(hmm_heap *h);
/* Writes the profile now, unless the thread is in a report already. */
void hmm_profile_write(void);

/* Called by each allocation the slow path serves, before it allocates
 * size bytes: true when this one is to be sampled. */
hmm_inline bool hmm_profile_due(size_t size)
{
    hmm_heap *h = hmm_tls_thread_heap;
    /* Negative: the fast path counted this call and sent it here. */
    if (hmm_likely(h->sample_left >= 0)) {
        if (hmm_likely(!hmm_opt.profile) || h == &hmm_heap_empty)
            return false;
        if (hmm_unlikely(hmm_profile_requested))
            hmm_profile_write();
        if ((h->sample_left -= (int64_t)size) >= 0)
            return false;
    }
    return hmm_profile_restart(h);
}

/* What to ask of the layers for a sampled block of size bytes: a size the
 * slabs do not serve. */
hmm_inline size_t hmm_profile_block_size(size_t size)
{
    return size > HMM_SMALL_MAX ? size : HMM_SMALL_MAX + 1;
}

/* Records block p of size bytes, just allocated for a sample. */
void hmm_profile_record(void *p, size_t size);

/* True when the block of chunk c and span s (NULL: huge) is a sample. */
hmm_inline bool hmm_profile_sampled(const hmm_chunk *c, const hmm_span *s)
{
    return s ? (s->flags & HMM_SPAN_SAMPLED) != 0 : c->sampled != 0;
}

/* Forgets sampled block p of chunk c and span s (being freed). */
void hmm_profile_free(hmm_chunk *c, hmm_span *s, void *p);
void hmm_profile_atfork(enum hmm_fork_phase phase);

#endif
