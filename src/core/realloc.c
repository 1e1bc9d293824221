/*
 * realloc.c - realloc: a block stays where it is when it can (a small one
 * that still fits, a large one resized in place by its owner, a huge one
 * remapped); otherwise a new block, a copy, and a free.  With a feature
 * on, the hooks check the block first and hear where it went; a watched
 * block has the chance to be sampled a new block of its size has.
 */
#include "core/heap.h"

#include <errno.h>
#include <string.h>

#include "core/huge.h"
#include "core/large.h"

/* Block p (chunk c, span s, usable size old) resized to size bytes
 * without a copy by libhmm: where it now is, or NULL when it must move. */
static void *resize_in_place(hmm_chunk *c, hmm_span *s, void *p, size_t old, size_t size,
                             const char *func)
{
    if (!s) {
        if (size > HMM_LARGE_MAX) {
            size_t want = size + hmm_hooks.tail;
            void *q = hmm_huge_realloc(c, want);
            /* Refused by the kernel: free memory held elsewhere may be
             * what stands in the way. */
            if (!q && hmm_heap_release_free(func))
                q = hmm_huge_realloc(c, want);
            return q;
        }
    } else if (s->kind == HMM_SPAN_SLAB) {
        /* Stay when the block fits and would not waste most of itself. */
        if (size <= old && size >= old / 2)
            return p;
    } else if (c->heap == hmm_tls_thread_heap && size > HMM_SMALL_MAX && size <= HMM_LARGE_MAX) {
        size_t np = hmm_align_up(size + hmm_hooks.tail, HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
        if (hmm_large_resize(c->heap, s, np))
            return p;
    }
    return NULL;
}

/* Block p, of usable size old, moved to a new block of size bytes: a copy
 * and a free.  NULL, p untouched, when out of memory. */
static void *move(void *p, size_t old, size_t size, const char *func)
{
    /* A block that must move to grow is given a quarter more pages, so a
     * buffer grown by small steps is not copied at every page. */
    size_t want = size;
    if (size > old && size > HMM_SMALL_MAX && size <= HMM_LARGE_MAX) {
        want = size + size / 4;
        if (want > HMM_LARGE_MAX)
            want = HMM_LARGE_MAX;
    }
    void *q = hmm_alloc(want, func);
    if (!q && want != size)
        q = hmm_alloc(size, func);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    hmm_free(p, func);
    return q;
}

/* hmm_realloc with a feature on, for block p of chunk c and span s. */
static __attribute__((noinline)) void *realloc_hooked(hmm_chunk *c, hmm_span *s, void *p,
                                                      size_t size, const char *func)
{
    if (hmm_hooks.check)
        hmm_hooks.check(c, s, p, func);
    /* Whether it stays is up to the block's room; what is copied is what
     * the program may have used of it. */
    size_t room = hmm_block_usable(c, s);
    size_t old = hmm_block_size(c, s, p, func);
    /* A watched block's mark is dropped, and the block, resized or moved,
     * has the chance to be sampled a new block of size bytes has.
     * (Moving every sampled block instead, copying it into new pages,
     * made realloc-heavy programs 8% slower under the heap profile.) */
    bool watched = hmm_watched(c, s);
    if (hmm_unlikely(watched))
        hmm_unwatch(c, s, p);
    void *q = resize_in_place(c, s, p, room, size, func);
    if (q) {
        if (hmm_hooks.resized)
            hmm_hooks.resized(q, size);
        if (hmm_unlikely(watched) && hmm_sample_due(size) && hmm_hooks.sampled)
            hmm_hooks.sampled(q, size);
        if (hmm_hooks.moved)
            hmm_hooks.moved(p, q, size);
        return q;
    }
    q = move(p, old, size, func);
    if (q && hmm_hooks.resized)
        hmm_hooks.resized(q, size);
    /* The observers heard of q with the size asked of the layers. */
    if (q && hmm_hooks.moved)
        hmm_hooks.moved(q, q, size);
    return q;
}

void *hmm_realloc(void *p, size_t size, const char *func)
{
    if (!p)
        return hmm_alloc(size, func);
    if (size == 0) {
        hmm_free(p, func);
        return NULL;
    }
    if (size > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    hmm_chunk *c;
    hmm_span *s = hmm_locate(p, func, &c);
    if (hmm_unlikely(hmm_hooks.on))
        return realloc_hooked(c, s, p, size, func);
    size_t old = hmm_block_usable(c, s);
    void *q = resize_in_place(c, s, p, old, size, func);
    return q ? q : move(p, old, size, func);
}
