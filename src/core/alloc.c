/*
 * alloc.c - the slow path of malloc and the allocating entry points that
 * have no fast path: aligned allocation and calloc.  Sends each request to
 * the layer that serves its size: slabs, large blocks or huge mappings,
 * through the hooks when a feature is on (core/hooks.h).
 */
#include "core/heap.h"

#include <errno.h>
#include <string.h>

#include "base/options.h"
#include "core/huge.h"
#include "core/large.h"
#include "core/remote.h"
#include "core/slab.h"

/* Allocating slow calls (changes of slabs, the general path's calls)
 * without maintenance between two with: its clock read and purge check
 * were a sixth of a change of slabs' cost, where a change can come every
 * 30 calls (larson), and 48 of the 93 instructions a large allocation
 * spent outside the span allocator.  Span frees check for a due purge
 * themselves, the purger thread watches heaps with many dirty pages, and
 * a large allocation releases the spare slabs anyway. */
#define HMM_MAINTAIN_SKIP 15

/* True at every 16th call. */
hmm_inline bool maintain_due(hmm_heap *h)
{
    if (h->maintain_skip-- != 0)
        return false;
    h->maintain_skip = HMM_MAINTAIN_SKIP;
    return true;
}

/* The calling thread's heap, brought up to date for allocating. */
static hmm_heap *heap_for_alloc(const char *func)
{
    hmm_heap *h = hmm_heap_get();
    if (h) {
        hmm_catch_up(h, func);
        /* Also at once when another thread asked for a trim (malloc_trim),
         * so that h is trimmed at its next call, and at every call when the
         * tick hook asks for it (the heap map: libhmm(7) promises a sample
         * at any such call once the interval has passed); those calls
         * leave alloc_small's count of changes as it was. */
        if (__atomic_load_n(&h->trim_request, __ATOMIC_RELAXED) != 0 ||
            hmm_unlikely(hmm_hooks.on & HMM_HOOKS_TICK_ALWAYS) || maintain_due(h))
            hmm_heap_maintain(h, func);
    }
    return h;
}

void *hmm_alloc_block(size_t size, size_t align, bool *zeroed, const char *func)
{
    *zeroed = false;
    if (size <= HMM_SMALL_MAX && align <= HMM_PAGE_SIZE) {
        unsigned cls =
            align <= HMM_ALIGN ? hmm_size_class(size) : hmm_size_class_aligned(size, align);
        if (cls < HMM_NCLASS) {
            hmm_heap *h = heap_for_alloc(func);
            return h ? hmm_slab_alloc(h, cls, func) : NULL;
        }
    }
    size_t align_pages = align <= HMM_PAGE_SIZE ? 1 : align >> HMM_PAGE_SHIFT;
    size_t np = hmm_align_up(size, HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
    if (np <= (HMM_LARGE_MAX >> HMM_PAGE_SHIFT) && np + align_pages - 1 <= HMM_USABLE_PAGES) {
        hmm_heap *h = heap_for_alloc(func);
        if (!h)
            return NULL;
        /* As for a new slab: the spares' pages before fresh ones. */
        hmm_slab_release_spares(h);
        return hmm_large_alloc(h, np, align_pages, zeroed);
    }
    return hmm_heap_init() ? hmm_huge_alloc(size, align, zeroed) : NULL;
}

bool hmm_sample_due(size_t size)
{
    hmm_heap *h = hmm_tls_thread_heap;
    /* Negative: the fast path counted this call and sent it here. */
    if (hmm_likely(h->countdown >= 0)) {
        if (!hmm_hooks.sample || h == &hmm_heap_empty)
            return false;
        if ((h->countdown -= (int64_t)size) >= 0)
            return false;
    }
    if (!hmm_hooks.sample) {
        h->countdown = INT64_MAX;
        return false;
    }
    return hmm_hooks.sample(&h->countdown);
}

/* One try, through the hooks' alloc when there is one. */
static void *alloc_once(size_t size, size_t align, bool *zeroed, const char *func)
{
    if (hmm_unlikely(hmm_hooks.alloc != NULL))
        return hmm_hooks.alloc(size, align, zeroed, func);
    return hmm_alloc_block(size, align, zeroed, func);
}

/* One try, and when the kernel refused memory (the heap, a chunk or a
 * huge mapping) another once what is held free went back: it may be all
 * that is left.  Sets errno on failure. */
static void *alloc_retry(size_t size, size_t align, bool *zeroed, const char *func)
{
    void *p = alloc_once(size, align, zeroed, func);
    if (!p && hmm_heap_release_free(func))
        p = alloc_once(size, align, zeroed, func);
    if (!p)
        errno = ENOMEM;
    return p;
}

/* alloc_any with a feature on: the sample, and the observers. */
static __attribute__((noinline)) void *alloc_hooked(size_t size, size_t align, bool *zeroed,
                                                    const char *func)
{
    bool sample = hmm_sample_due(size);
    void *p = alloc_retry(sample ? hmm_watched_size(size) : size, align, zeroed, func);
    if (!p)
        return NULL;
    if (hmm_unlikely(sample)) {
        if (hmm_hooks.resized)
            hmm_hooks.resized(p, size);
        if (hmm_hooks.sampled)
            hmm_hooks.sampled(p, size);
    }
    if (hmm_hooks.allocated)
        hmm_hooks.allocated(p, size);
    return p;
}

/* Every allocation the fast path does not finish.  Sets errno on failure. */
static void *alloc_any(size_t size, size_t align, bool *zeroed, const char *func)
{
    if (size > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    /* Zero bytes get a block of their own like one byte: the layers below
     * may then assume size > 0 (a huge block of 0 bytes would start one
     * past the end of its mapping, on the chunk-map slot of the next). */
    if (size == 0)
        size = 1;
    /* The hooks are set with the options, at the first call. */
    if (!hmm_heap_init()) {
        errno = ENOMEM;
        return NULL;
    }
    if (hmm_unlikely(hmm_hooks.on))
        return alloc_hooked(size, align, zeroed, func);
    return alloc_retry(size, align, zeroed, func);
}

/* The commonest slow call, a size of the fast path's whose current slab's
 * free list is empty: the slab layer is asked straight for a slab with a
 * free block (carving the next page, a partial slab, a new one), without
 * the general path's dispatch; the fast path then serves the call, so the
 * heap profile counts it.  Remote frees are taken back first, and
 * maintenance is done at a change of slabs when due (maintain_due; not at
 * a refill of the current slab).  NULL when this does not apply: a call
 * that ran the sampling countdown out (its block was put back, so the
 * list is not empty), hooks that want every call and a thread with no
 * heap (the fast path's heap is hmm_heap_empty), out of memory. */
static void *alloc_small(size_t size, const char *func)
{
    hmm_heap *h = hmm_tls_heap;
    size_t i = (size + 15) >> 4;
    hmm_span *s = h->fast[i];
    if (h == &hmm_heap_empty || hmm_slab_has_free(s))
        return NULL;
    if (s->carved < s->count) {
        hmm_slab_refill(s);
    } else {
        hmm_catch_up(h, func);
        if (!hmm_slab_has_free(s)) {
            if (maintain_due(h))
                hmm_heap_maintain(h, func);
            if (!hmm_slab_change(h, hmm_class_table[i]))
                return NULL;
        }
    }
    return hmm_alloc(size, func);
}

void *hmm_alloc_slow(size_t size, const char *func)
{
    if (size <= HMM_TABLE_MAX) {
        void *p = alloc_small(size, func);
        if (p)
            return p;
    }
    /* The hooks' common case first (none is set until the options are
     * read, so a first call takes the long way). */
    if (hmm_unlikely(hmm_hooks.alloc_small != NULL)) {
        void *p = hmm_hooks.alloc_small(size, func);
        if (p)
            return p;
    }
    bool zeroed;
    return alloc_any(size, HMM_ALIGN, &zeroed, func);
}

/* Puts back block p that hmm_slab_pop just took from slab s: the list and
 * the count are as they were. */
static void unpop(hmm_span *s, void *p)
{
    hmm_slab_push(s, p, hmm_free_key(p));
    s->used--;
}

void *hmm_alloc_sampled(hmm_span *s, void *p, size_t size, const char *func)
{
    unpop(s, p);
    return hmm_alloc_slow(size, func);
}

void *hmm_alloc_aligned(size_t size, size_t align, const char *func)
{
    if (align <= HMM_ALIGN)
        return hmm_alloc(size, func);
    /* Alignments up to a page within the slabs' sizes: hmm_alloc's fast
     * path on the current slab of the smallest class whose blocks are all
     * aligned (this was the general slow path, at about 300 instructions a
     * call).  The slow path refills the slab, and takes the samples and
     * the calls of hooks that want every call (their heap is
     * hmm_heap_empty, whose slabs have no free block). */
    if (hmm_likely(size <= HMM_SMALL_MAX && align <= HMM_PAGE_SIZE)) {
        hmm_heap *h = hmm_tls_heap;
        hmm_span *s = h->cur[hmm_size_class_aligned(size, align)];
        void *p = hmm_slab_pop(s, func);
        if (hmm_likely(p != NULL)) {
            if (hmm_likely((h->countdown -= (int64_t)size) >= 0))
                return p;
            unpop(s, p);
        }
    }
    bool zeroed;
    return alloc_any(size, align, &zeroed, func);
}

void *hmm_calloc(size_t nmemb, size_t size, const char *func)
{
    if (__builtin_mul_overflow(nmemb, size, &size)) {
        errno = ENOMEM;
        return NULL;
    }
    bool zeroed;
    void *p =
        size <= HMM_SMALL_MAX ? hmm_alloc(size, func) : alloc_any(size, HMM_ALIGN, &zeroed, func);
    if (p && (size <= HMM_SMALL_MAX || !zeroed))
        memset(p, 0, size);
    return p;
}
