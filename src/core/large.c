/*
 * large.c - large blocks: one span of whole pages each, taken from and
 * given back to the owning heap's span allocator; realloc of the owner's
 * blocks shrinks them in place or grows them into a free right neighbour.
 */
#include "core/large.h"

#include "core/span.h"

void *hmm_large_alloc(hmm_heap *h, size_t np, size_t align_pages, bool *zeroed)
{
    hmm_span *s = hmm_span_alloc(h, np, align_pages, zeroed);
    if (!s)
        return NULL;
    s->kind = HMM_SPAN_LARGE;
    void *p = hmm_span_addr(s);
    if (!*zeroed)
        ((hmm_block *)p)->key = 0;
    return p;
}

void hmm_large_free(hmm_heap *h, hmm_span *s) { hmm_span_free(h, s); }

bool hmm_large_resize(hmm_heap *h, hmm_span *s, size_t np)
{
    if (np <= s->npages) {
        hmm_span_shrink(h, s, np);
        return true;
    }
    return hmm_span_grow(h, s, np);
}
