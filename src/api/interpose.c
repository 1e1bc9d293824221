/*
 * interpose.c - the C library's malloc family, defined by libhmm so that
 * linking or preloading it replaces the C library's allocator entirely.
 * Exported unversioned: a versioned definition would not interpose on
 * programs bound to malloc@GLIBC_2.2.5.  Left out of the sanitizer build.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/features.h"
#include "core/heap.h"

/* Here, not in the core: the tests linked with the core alone set options
 * after they start, read at the first allocation. */
__attribute__((constructor)) static void load(void) { hmm_features_start(); }

HMM_EXPORT void *malloc(size_t size) { return hmm_alloc(size, "malloc"); }

HMM_EXPORT void free(void *ptr) { hmm_free(ptr, "free"); }

HMM_EXPORT void *calloc(size_t nmemb, size_t size) { return hmm_calloc(nmemb, size, "calloc"); }

HMM_EXPORT void *realloc(void *ptr, size_t size) { return hmm_realloc(ptr, size, "realloc"); }

HMM_EXPORT void *reallocarray(void *ptr, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return hmm_realloc(ptr, total, "reallocarray");
}

static bool power_of_two(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

HMM_EXPORT int posix_memalign(void **memptr, size_t alignment, size_t size)
{
    if (!power_of_two(alignment) || alignment % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = hmm_alloc_aligned(size, alignment, "posix_memalign");
    errno = saved;
    if (!p)
        return ENOMEM;
    *memptr = p;
    return 0;
}

HMM_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
    if (!power_of_two(alignment)) {
        errno = EINVAL;
        return NULL;
    }
    return hmm_alloc_aligned(size, alignment, "aligned_alloc");
}

HMM_EXPORT void *memalign(size_t alignment, size_t size)
{
    /* As glibc: an alignment that is not a power of two is rounded up. */
    if (alignment > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    while (!power_of_two(alignment))
        alignment = alignment ? (alignment | (alignment - 1)) + 1 : 1;
    return hmm_alloc_aligned(size, alignment, "memalign");
}

HMM_EXPORT void *valloc(size_t size) { return hmm_alloc_aligned(size, HMM_PAGE_SIZE, "valloc"); }

HMM_EXPORT void *pvalloc(size_t size)
{
    size_t rounded = hmm_align_up(size ? size : 1, HMM_PAGE_SIZE);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return hmm_alloc_aligned(rounded, HMM_PAGE_SIZE, "pvalloc");
}

HMM_EXPORT size_t malloc_usable_size(void *ptr)
{
    return hmm_usable_size(ptr, "malloc_usable_size");
}

/* C23's, which this C library's stdlib.h does not declare yet. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

HMM_EXPORT void free_sized(void *ptr, size_t size)
{
    (void)size;
    hmm_free(ptr, "free_sized");
}

HMM_EXPORT void free_aligned_sized(void *ptr, size_t alignment, size_t size)
{
    (void)alignment;
    (void)size;
    hmm_free(ptr, "free_aligned_sized");
}
