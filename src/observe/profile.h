/*
 * profile.h - the sampled heap profile (HMM_PROFILE=FILE, hmm-run
 * --profile=FILE): one allocation in about every HMM_PROFILE_RATE bytes is
 * recorded with its stack, and the estimate they give of the live heap,
 * by stack, is written at exit and on SIGUSR2.
 *
 * A sampler on the core's hooks: the fast path pays one subtraction and
 * branch, the core's sampling countdown (hmm_heap.countdown), and the
 * call that takes it below zero goes to the slow path, which asks the
 * sample hook.  A sampled block is given pages of its own and watched
 * (core/hooks.h), so free's slow path alone finds out that a block was
 * sampled, by a flag it reads anyway.
 */
#ifndef HMM_PROFILE_H
#define HMM_PROFILE_H

#include "core/hooks.h"

/* Sets the heap profile's hooks in t (HMM_PROFILE set). */
void hmm_profile_wire(hmm_hook_table *t);
/* Catches SIGUSR2, once at set-up: the next allocation that reaches a
 * slow path then writes the profile. */
void hmm_profile_init(void);
/* The hooks' allocated: writes the profile when SIGUSR2 asked for it. */
void hmm_profile_poll(void *p, size_t size);
/* Loads the math library's functions the profile needs (see
 * hmm_load_library), before the unwinders: a sample needs them.  False,
 * with a warning, when it cannot. */
bool hmm_profile_load(void);
/* Writes the profile now, unless the thread is in a report already. */
void hmm_profile_write(void);

#endif
