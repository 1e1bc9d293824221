/*
 * secure.h - secure mode (HMM_SECURE=1): a canary after every small and
 * large block, freed blocks poisoned and checked before they are reused,
 * a bounded per-thread quarantine that delays reuse, and slab pages carved
 * in random order.  In this mode the fast paths never succeed (the fast
 * paths' heap, hmm_tls_heap, stays hmm_heap_empty), so every call reaches
 * a slow path, which hands it here; the default mode pays nothing.
 */
#ifndef HMM_SECURE_H
#define HMM_SECURE_H

#include "core/heap.h"
#include "base/options.h"

/* The last bytes of each small and large block, which hold its canary. */
#define HMM_CANARY_SIZE 8

/* True in secure mode.  Reads the options first: the first allocation of
 * a process may come before anything else has. */
hmm_inline bool hmm_secure_mode(void) { return hmm_heap_init() && hmm_opt.secure; }

/* Allocates size bytes aligned to align with room for the canary, checks
 * that a reused small block was not written since it was freed, and seals
 * it; func names the entry point in a report.  NULL when the memory could
 * not be had. */
void *hmm_secure_alloc(size_t size, size_t align, bool *zeroed, const char *func);
/* hmm_secure_alloc's common case, for size <= HMM_SMALL_MAX -
 * HMM_CANARY_SIZE: a block of the calling thread's current slab of the
 * class, checked and sealed; NULL when that slab has no free block (or the
 * thread no heap yet), for hmm_secure_alloc to do the rest. */
void *hmm_secure_alloc_cur(size_t size, const char *func);
/* Frees block p (span s of chunk c, not huge, checked by hmm_locate):
 * checks its canary, poisons it, and puts it in the thread's quarantine;
 * func names the entry point in a report. */
void hmm_secure_free(hmm_chunk *c, hmm_span *s, void *p, const char *func);
/* Aborts with func's report when block p's canary was overwritten (huge
 * blocks, s NULL, have none). */
void hmm_secure_check(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func);
/* Writes block p's canary after its end moved (an in-place resize). */
void hmm_secure_seal(const hmm_chunk *c, const hmm_span *s, void *p);
/* Frees every block in h's quarantine (thread exit). */
void hmm_secure_flush(hmm_heap *h);

/* For the shuffled carve of slab.c: a random number from the thread's
 * generator, and the poison a free block of usable size bytes holds. */
uint64_t hmm_secure_random(void);
void hmm_secure_poison(void *p, size_t size);

#endif
