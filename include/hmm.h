/*
 * hmm.h - public interface of libhmm, a heap memory manager.
 *
 * HmmAlloc, HmmFree, HmmCalloc and HmmRealloc follow the contracts of
 * malloc, free, calloc and realloc.  Linking with -lhmm (or preloading
 * libhmm.so.1) also replaces the C library's malloc family, and pointers
 * from either set of names may be passed to the other.
 */
#ifndef HMM_H
#define HMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HMM_VERSION_MAJOR 1
#define HMM_VERSION_MINOR 0

#if defined(__GNUC__)
#define HMM_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#define HMM_ALLOC_SIZE(...) __attribute__((alloc_size(__VA_ARGS__)))
#else
#define HMM_MALLOC_ATTR
#define HMM_ALLOC_SIZE(...)
#endif

/* Allocates size bytes, 16-byte aligned; NULL and errno ENOMEM on failure. */
void *HmmAlloc(size_t size) HMM_MALLOC_ATTR HMM_ALLOC_SIZE(1);

/* Releases a block from any libhmm or malloc-family call; NULL is ignored. */
void HmmFree(void *ptr);

/* Allocates nmemb * size zeroed bytes; NULL and ENOMEM on overflow. */
void *HmmCalloc(size_t nmemb, size_t size) HMM_MALLOC_ATTR HMM_ALLOC_SIZE(1, 2);

/* Resizes a block, in place when it can; on failure the block is untouched. */
void *HmmRealloc(void *ptr, size_t size) HMM_ALLOC_SIZE(2);

/* Allocates size bytes aligned to alignment (a power of two); NULL and
 * errno EINVAL for a bad alignment, ENOMEM when out of memory. */
void *HmmAlignedAlloc(size_t alignment, size_t size) HMM_MALLOC_ATTR HMM_ALLOC_SIZE(2);

/* Bytes that may really be written at ptr (0 for NULL). */
size_t HmmUsableSize(const void *ptr);

/* A snapshot of libhmm's counters, summed over all threads. */
typedef struct HmmStats {
    uint64_t mapped;          /* bytes currently mapped from the kernel */
    uint64_t mapped_peak;     /* highest value of mapped */
    uint64_t resident;        /* the process's resident set now, in bytes */
    uint64_t resident_peak;   /* the process's peak resident set, in bytes */
    uint64_t purged;          /* bytes handed back with madvise, total */
    uint64_t chunks;          /* chunks currently mapped */
    uint64_t huge_blocks;     /* blocks served straight from mmap, live */
    uint64_t huge_bytes;      /* bytes in those blocks */
    uint64_t slabs;           /* small-object slabs live */
    uint64_t large_blocks;    /* page-run (large) blocks live */
    uint64_t remote_frees;    /* frees by a thread other than the owner */
    uint64_t heaps;           /* thread heaps created */
    uint64_t heaps_abandoned; /* heaps whose thread exited, awaiting reuse */
    uint64_t heaps_reused;    /* times an exited thread's heap was adopted */
} HmmStats;

/* Fills *stats; returns 0. */
int HmmGetStats(HmmStats *stats);

/* Writes the statistics, human-readable, to file descriptor fd. */
void HmmPrintStats(int fd);

/* mallopt(3) parameter: milliseconds free memory stays before libhmm gives
 * it back (HMM_PURGE_DELAY), 0 to 3600000.  Outside glibc's numbers. */
#define M_HMM_PURGE_DELAY (-0x484d)

#ifdef __cplusplus
}
#endif
#endif /* HMM_H */
