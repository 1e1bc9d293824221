/*
 * huge.h - blocks above HMM_LARGE_MAX, each in a mapping of its own with a
 * one-page header at a chunk-aligned address (so the chunk map finds it),
 * resized with mremap; freed pages stay in a cache for the purge delay.
 */
#ifndef HMM_HUGE_H
#define HMM_HUGE_H

#include "core/chunk.h"

/* size > 0 bytes aligned to align; *zeroed tells whether the block is
 * known to read as zero. */
void *hmm_huge_alloc(size_t size, size_t align, bool *zeroed);
void hmm_huge_free(hmm_chunk *c);
hmm_inline size_t hmm_huge_usable(const hmm_chunk *c) { return c->map_size - c->offset; }
/* Resizes in place or by moving the pages; NULL, with the block untouched,
 * only when the kernel refuses the memory (or size could never be mapped). */
void *hmm_huge_realloc(hmm_chunk *c, size_t size);
/* Unmaps cached mappings idle for the purge delay (all with force);
 * returns the bytes unmapped. */
size_t hmm_huge_trim(uint64_t now, bool force);
/* Bytes in the cache now. */
size_t hmm_huge_cached_bytes(void);
/* True when p lies in a freed huge block's pages still cached (so freeing
 * p again is a double free); for diagnostics only. */
bool hmm_huge_cached(const void *p);
void hmm_huge_lock_all(void);
void hmm_huge_unlock_all(bool child);

#endif
