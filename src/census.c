/*
 * census.c - the heaps' figures, counted by walking every chunk's spans
 * under the heap's lock (see census.h).
 */
#include "census.h"

#include <string.h>

/* Racy reads of another thread's descriptors: single loads, no tearing. */
#define PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void census_chunk(const hmm_chunk *c, hmm_census *out)
{
    size_t i = HMM_META_PAGES;
    while (i < HMM_CHUNK_PAGES) {
        const hmm_span *s = &c->pages[i];
        size_t n = PEEK(s->npages);
        /* A head the owner is rewriting: stop rather than stray. */
        if (n == 0 || n > HMM_CHUNK_PAGES - i)
            break;
        uint64_t bytes = (uint64_t)n << HMM_PAGE_SHIFT;
        switch (PEEK(s->kind)) {
        case HMM_SPAN_SLAB: {
            unsigned cls = PEEK(s->cls);
            uint64_t used = PEEK(s->used) & (HMM_SLAB_CUR - 1), count = PEEK(s->count),
                     bsize = PEEK(s->bsize);
            if (cls >= HMM_NCLASS || used > count)
                break;
            out->slabs++;
            out->small_blocks += used;
            out->small_bytes += used * bsize;
            out->slab_free_bytes += (count - used) * bsize;
            out->cls[cls].slabs++;
            out->cls[cls].used += used;
            out->cls[cls].free += count - used;
            break;
        }
        case HMM_SPAN_LARGE:
            out->large_blocks++;
            out->large_bytes += bytes;
            break;
        case HMM_SPAN_FREE:
            out->free_spans++;
            out->free_bytes += bytes;
            if (PEEK(s->flags) & HMM_SPAN_DIRTY)
                out->dirty_bytes += bytes;
            break;
        default:
            break;
        }
        i += n;
    }
}

void hmm_census_heap(hmm_heap *h, hmm_census *c)
{
    c->heaps++;
    c->abandoned += PEEK(h->state) == HMM_HEAP_ABANDONED;
    c->remote_frees += PEEK(h->remote_frees);
    pthread_mutex_lock(&h->lock);
    for (hmm_list *l = h->chunks.next; l != &h->chunks; l = l->next) {
        c->chunks++;
        census_chunk(hmm_container_of(l, hmm_chunk, link), c);
    }
    pthread_mutex_unlock(&h->lock);
}

void hmm_census_add(hmm_census *total, const hmm_census *c)
{
    _Static_assert(sizeof(hmm_census) % sizeof(uint64_t) == 0, "a census is all counters");
    uint64_t *t = (uint64_t *)total;
    const uint64_t *a = (const uint64_t *)c;
    for (size_t i = 0; i < sizeof(hmm_census) / sizeof(uint64_t); i++)
        t[i] += a[i];
}

void hmm_census_all(hmm_census *c)
{
    memset(c, 0, sizeof *c);
    for (hmm_heap *h = hmm_heap_next(NULL); h; h = hmm_heap_next(h))
        hmm_census_heap(h, c);
}
