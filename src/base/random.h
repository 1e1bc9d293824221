/*
 * random.h - the per-process secret and a random generator per thread.
 */
#ifndef HMM_RANDOM_H
#define HMM_RANDOM_H

#include "base/internal.h"

/* Per-process secret, set once (hmm_random_init) before the first
 * allocation: mixed into the free marks and links of the core's free
 * blocks (core/heap.h), and into secure mode's canaries.  Odd, so that no
 * pointer and no free-list end ever equals a free mark. */
extern uintptr_t hmm_secret HMM_HIDDEN;

/* Draws the secret from the kernel. */
void hmm_random_init(void);

/* A random number from the calling thread's generator (xorshift64*,
 * seeded from the secret and the thread): cheap, not cryptographic. */
uint64_t hmm_random(void);

#endif
