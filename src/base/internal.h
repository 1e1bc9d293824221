/*
 * internal.h - definitions every libhmm module shares: the geometry of
 * chunks and pages, branch hints, symbol visibility.
 */
#ifndef HMM_INTERNAL_H
#define HMM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define HMM_EXPORT __attribute__((visibility("default")))
/* On the declaration of a variable the fast paths read: without it, code
 * built with -fPIC finds the variable's address through the GOT first. */
#define HMM_HIDDEN __attribute__((visibility("hidden")))
#define hmm_likely(x) __builtin_expect(!!(x), 1)
#define hmm_unlikely(x) __builtin_expect(!!(x), 0)
#define hmm_noinline __attribute__((noinline))
#define hmm_inline static inline __attribute__((always_inline))
#define hmm_countof(a) (sizeof(a) / sizeof((a)[0]))

/* Every block is at least this aligned (glibc's guarantee on x86_64). */
#define HMM_ALIGN 16

/* Memory comes from the kernel in chunks of 4 MiB aligned to their size, so
 * that a pointer's chunk header is found by masking. */
#define HMM_CHUNK_SHIFT 22
#define HMM_CHUNK_SIZE ((size_t)1 << HMM_CHUNK_SHIFT)
#define HMM_CHUNK_MASK (HMM_CHUNK_SIZE - 1)

/* A chunk is carved in pages of 4 KiB; runs of pages are spans. */
#define HMM_PAGE_SHIFT 12
#define HMM_PAGE_SIZE ((size_t)1 << HMM_PAGE_SHIFT)
/* Room for a file name: HMM_STATS_FILE, HMM_LEAKS_FILE, HMM_PROFILE, a report's. */
#define HMM_PATH_MAX 4096
#define HMM_CHUNK_PAGES (HMM_CHUNK_SIZE >> HMM_PAGE_SHIFT)

/* User space on x86_64 Linux (4-level paging) ends below 2^47. */
#define HMM_ADDR_BITS 47

hmm_inline size_t hmm_align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

#endif
