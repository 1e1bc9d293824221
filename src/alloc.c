/*
 * alloc.c - the slow path of malloc and the allocating entry points that
 * have no fast path: aligned allocation and calloc.  Sends each request to
 * the layer that serves its size: slabs, large blocks or huge mappings.
 */
#include "heap.h"

#include <errno.h>
#include <string.h>

#include "huge.h"
#include "large.h"
#include "remote.h"
#include "secure.h"
#include "slab.h"

/* The calling thread's heap, brought up to date for allocating. */
static hmm_heap *heap_for_alloc(void)
{
    hmm_heap *h = hmm_heap_get();
    if (h) {
        hmm_catch_up(h);
        hmm_heap_maintain(h);
    }
    return h;
}

void *hmm_alloc_block(size_t size, size_t align, bool *zeroed)
{
    *zeroed = false;
    void *p = NULL;
    if (size > PTRDIFF_MAX)
        goto fail;
    if (size <= HMM_SMALL_MAX && align <= HMM_PAGE_SIZE) {
        unsigned cls =
            align <= HMM_ALIGN ? hmm_size_class(size) : hmm_size_class_aligned(size, align);
        if (cls < HMM_NCLASS) {
            hmm_heap *h = heap_for_alloc();
            p = h ? hmm_slab_alloc(h, cls) : NULL;
            goto done;
        }
    }
    size_t align_pages = align <= HMM_PAGE_SIZE ? 1 : align >> HMM_PAGE_SHIFT;
    size_t np = hmm_align_up(size ? size : 1, HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
    if (np <= (HMM_LARGE_MAX >> HMM_PAGE_SHIFT) && np + align_pages - 1 <= HMM_USABLE_PAGES) {
        hmm_heap *h = heap_for_alloc();
        p = h ? hmm_large_alloc(h, np, align_pages, zeroed) : NULL;
        goto done;
    }
    p = hmm_heap_init() ? hmm_huge_alloc(size, align, zeroed) : NULL;
done:
    if (p)
        return p;
fail:
    errno = ENOMEM;
    return NULL;
}

/* Every allocation the fast path does not finish: secure mode wraps the
 * layers in its checks. */
static void *alloc_any(size_t size, size_t align, bool *zeroed)
{
    if (hmm_unlikely(hmm_secure_mode()))
        return hmm_secure_alloc(size, align, zeroed);
    return hmm_alloc_block(size, align, zeroed);
}

void *hmm_alloc_slow(size_t size)
{
    bool zeroed;
    return alloc_any(size, HMM_ALIGN, &zeroed);
}

void *hmm_alloc_aligned(size_t size, size_t align)
{
    bool zeroed;
    if (align <= HMM_ALIGN)
        return hmm_alloc(size);
    return alloc_any(size, align, &zeroed);
}

void *hmm_calloc(size_t nmemb, size_t size)
{
    if (__builtin_mul_overflow(nmemb, size, &size)) {
        errno = ENOMEM;
        return NULL;
    }
    bool zeroed;
    void *p = size <= HMM_SMALL_MAX ? hmm_alloc(size) : alloc_any(size, HMM_ALIGN, &zeroed);
    if (p && (size <= HMM_SMALL_MAX || !zeroed))
        memset(p, 0, size);
    return p;
}
