/*
 * api.c - the public Hmm* entry points of include/hmm.h.
 */
#include <errno.h>

#include "core/heap.h"
#include "hmm.h"

HMM_EXPORT void *HmmAlloc(size_t size) { return hmm_alloc(size, "HmmAlloc"); }

HMM_EXPORT void HmmFree(void *ptr) { hmm_free(ptr, "HmmFree"); }

HMM_EXPORT void *HmmCalloc(size_t nmemb, size_t size)
{
    return hmm_calloc(nmemb, size, "HmmCalloc");
}

HMM_EXPORT void *HmmRealloc(void *ptr, size_t size) { return hmm_realloc(ptr, size, "HmmRealloc"); }

HMM_EXPORT void *HmmAlignedAlloc(size_t alignment, size_t size)
{
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        errno = EINVAL;
        return NULL;
    }
    return hmm_alloc_aligned(size, alignment, "HmmAlignedAlloc");
}

HMM_EXPORT size_t HmmUsableSize(const void *ptr) { return hmm_usable_size(ptr, "HmmUsableSize"); }
