/*
 * secure.h - secure mode (HMM_SECURE=1): a canary after every small and
 * large block, freed blocks poisoned and checked before they are reused,
 * a bounded per-thread quarantine that delays reuse, and slab pages carved
 * in random order.  A hardening feature on the core's hooks: it wants
 * every call (the fast paths never succeed), takes over the slow paths
 * that place and free blocks, and keeps its canary as the hooks' tail;
 * the default mode pays nothing.
 */
#ifndef HMM_SECURE_H
#define HMM_SECURE_H

#include "core/hooks.h"

/* The last bytes of each small and large block, which hold its canary. */
#define HMM_CANARY_SIZE 8

/* Sets secure mode's hooks in t (HMM_SECURE=1), its shortcuts past the
 * general slow paths (alloc_small, free_owned) included. */
void hmm_secure_wire(hmm_hook_table *t);

#endif
