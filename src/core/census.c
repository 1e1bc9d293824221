/*
 * census.c - the walk over every chunk's spans under the heap's lock, and
 * the heaps' figures counted with it (see census.h).
 */
#include "core/census.h"

#include <string.h>

/* Racy reads of another thread's descriptors: single loads, no tearing. */
#define PEEK(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static void walk_chunk(const hmm_chunk *c, hmm_span_visitor *visit, void *arg)
{
    hmm_span_view v = {.chunk = c, .first = 0, .npages = HMM_META_PAGES, .kind = HMM_SPAN_META};
    visit(&v, arg);
    size_t i = HMM_META_PAGES;
    while (i < HMM_CHUNK_PAGES) {
        const hmm_span *s = &c->pages[i];
        size_t n = PEEK(s->npages);
        /* A head the owner is rewriting: stop rather than stray. */
        if (n == 0 || n > HMM_CHUNK_PAGES - i)
            break;
        v = (hmm_span_view){.chunk = c, .first = i, .npages = n, .kind = PEEK(s->kind)};
        v.flags = PEEK(s->flags);
        if (v.kind == HMM_SPAN_SLAB) {
            v.cls = PEEK(s->cls);
            v.used = PEEK(s->used) & (HMM_SLAB_CUR - 1);
            v.count = PEEK(s->count);
            v.bsize = PEEK(s->bsize);
            if (v.cls >= HMM_NCLASS || v.used > v.count)
                v.kind = HMM_SPAN_NONE;
        }
        visit(&v, arg);
        i += n;
    }
}

void hmm_census_walk(hmm_heap *h, hmm_span_visitor *visit, void *arg)
{
    pthread_mutex_lock(&h->lock);
    for (hmm_list *l = h->chunks.next; l != &h->chunks; l = l->next)
        walk_chunk(hmm_container_of(l, hmm_chunk, link), visit, arg);
    pthread_mutex_unlock(&h->lock);
}

static void count_span(const hmm_span_view *v, void *arg)
{
    hmm_census *out = arg;
    uint64_t bytes = (uint64_t)v->npages << HMM_PAGE_SHIFT;
    switch (v->kind) {
    case HMM_SPAN_META:
        out->chunks++;
        break;
    case HMM_SPAN_SLAB:
        out->slabs++;
        out->small_blocks += v->used;
        out->small_bytes += v->used * v->bsize;
        out->slab_free_bytes += (v->count - v->used) * v->bsize;
        out->cls[v->cls].slabs++;
        out->cls[v->cls].used += v->used;
        out->cls[v->cls].free += v->count - v->used;
        break;
    case HMM_SPAN_LARGE:
        out->large_blocks++;
        out->large_bytes += bytes;
        break;
    case HMM_SPAN_FREE:
        out->free_spans++;
        out->free_bytes += bytes;
        if (v->flags & HMM_SPAN_DIRTY)
            out->dirty_bytes += bytes;
        break;
    default:
        break;
    }
}

void hmm_census_heap(hmm_heap *h, hmm_census *c)
{
    c->heaps++;
    c->abandoned += PEEK(h->state) == HMM_HEAP_ABANDONED;
    c->remote_frees += PEEK(h->remote_frees);
    hmm_census_walk(h, count_span, c);
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
