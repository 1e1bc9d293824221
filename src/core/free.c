/*
 * free.c - the slow path of free: every pointer the fast path could not
 * take is checked here (a pointer libhmm never handed out, or one already
 * freed, is reported and aborts), then freed by the layer that owns it,
 * or by the hooks' dispose, after the observers hear of it.  Also the usable
 * size of a block, which needs the same check.
 */
#include "core/heap.h"

#include "base/diag.h"
#include "core/huge.h"
#include "core/large.h"
#include "core/remote.h"
#include "core/slab.h"

hmm_span *hmm_locate(const void *p, const char *func, hmm_chunk **cp)
{
    unsigned m = hmm_chunk_map_get(p);
    if (hmm_unlikely(m == 0))
        hmm_misuse(func, hmm_huge_cached(p) ? "double free" : "invalid pointer", p);
    hmm_chunk *c = hmm_chunk_of(p);
    if (m == 2)
        c = (hmm_chunk *)((char *)c - HMM_CHUNK_SIZE);
    *cp = c;
    if (c->magic != HMM_CHUNK_NORMAL) {
        if (c->magic == HMM_CHUNK_HUGE && (const char *)p == (char *)c + c->offset)
            return NULL;
        hmm_misuse(func, "invalid pointer", p);
    }
    size_t off;
    hmm_span *s = hmm_span_of_off(c, p, &off);
    switch (s->kind) {
    case HMM_SPAN_SLAB:
        /* Not hmm_slab_block_ok: a full slab off its heap's lists has a
         * limit of 0. */
        if (!hmm_slab_block_carved(s, p))
            hmm_misuse(func, "invalid pointer", p);
        break;
    case HMM_SPAN_LARGE:
        if (off != 0)
            hmm_misuse(func, "invalid pointer", p);
        break;
    case HMM_SPAN_FREE:
        hmm_misuse(func, off == 0 ? "double free" : "invalid pointer", p);
    default:
        hmm_misuse(func, "invalid pointer", p);
    }
    if (((const hmm_block *)p)->key == hmm_free_key(p))
        hmm_misuse(func, "double free", p);
    return s;
}

/* What free's fast path checks of block p of span s beyond its chunk and
 * owner: a slab's block, at the start of one carved (the bound made from
 * carved, as a full slab's limit is 0), not marked free (key is its
 * mark).  The ways below that skip hmm_locate check this much. */
static bool live_small_block(const hmm_span *s, const void *p, uintptr_t key)
{
    return s->kind == HMM_SPAN_SLAB && hmm_slab_block_carved(s, p) &&
           ((const hmm_block *)p)->key != key;
}

/* What hmm_locate checks of a large block p of span s, whose mark would
 * be key: the start of its span, not marked free.  Not a watched block
 * either, whose feature hmm_free_slow must tell. */
static bool live_large_block(const hmm_span *s, const void *p, uintptr_t key)
{
    return s->kind == HMM_SPAN_LARGE && (const char *)p == hmm_span_addr(s) &&
           !(s->flags & HMM_SPAN_WATCHED) && ((const hmm_block *)p)->key != key;
}

/* The hooks' common case (hmm_hooks.free_owned), with the checks of
 * free's fast path, which hooks that want every call never take: a small
 * block of the calling thread's heap, not marked free.  NULL for anything
 * else, for hmm_locate to tell apart. */
static hmm_span *locate_owned(const void *p, hmm_chunk **cp)
{
    if (hmm_chunk_map_get(p) != 1)
        return NULL;
    hmm_chunk *c = hmm_chunk_of(p);
    if (c->heap != hmm_tls_thread_heap)
        return NULL;
    hmm_span *s = hmm_span_of(c, p);
    if (!live_small_block(s, p, hmm_free_key(p)))
        return NULL;
    *cp = c;
    return s;
}

/* hmm_free_slow with a feature on, for block p of span s of chunk c
 * (checked). */
static __attribute__((noinline)) void free_hooked(hmm_chunk *c, hmm_span *s, void *p,
                                                  const char *func)
{
    if (hmm_hooks.freed)
        hmm_hooks.freed(p);
    if (hmm_unlikely(hmm_watched(c, s)))
        hmm_unwatch(c, s, p);
    if (hmm_hooks.dispose)
        hmm_hooks.dispose(c, s, p, func);
    else if (!s)
        hmm_huge_free(c);
    else
        hmm_free_block(c, s, p, func);
}

void hmm_free_slow(void *p, const char *func)
{
    if (!p)
        return;
    hmm_chunk *c;
    hmm_span *s;
    /* A small block of this thread's heap (never a watched one, which is
     * large).  Without such hooks the fast path and hmm_free_unarmed take
     * every such block. */
    if (hmm_unlikely(hmm_hooks.free_owned) && (s = locate_owned(p, &c)) != NULL) {
        hmm_hooks.dispose(c, s, p, func);
        return;
    }
    s = hmm_locate(p, func, &c);
    if (hmm_unlikely(hmm_hooks.on))
        free_hooked(c, s, p, func);
    else if (!s)
        hmm_huge_free(c);
    else
        hmm_free_block(c, s, p, func);
}

/* A small block of another thread's heap, checked as the fast path checks
 * the thread's own (block start, free mark), goes straight to the outbox:
 * hmm_locate's every case is not needed for it.  The owner may change the
 * slab meanwhile, but not while p is one of its live blocks, which is all
 * the checks must let through.  Anything else, misuse included, takes the
 * general way, and so does every call of hooks that want every call (the
 * fast-path heap is then hmm_heap_empty, as is a thread's with no heap
 * yet). */
void hmm_free_other(void *p, hmm_chunk *c, const char *func)
{
    hmm_heap *h = hmm_tls_heap;
    if (h != &hmm_heap_empty && c->magic == HMM_CHUNK_NORMAL) {
        hmm_span *s = hmm_span_of(c, p);
        uintptr_t key = hmm_free_key(p);
        if (live_small_block(s, p, key)) {
            hmm_outbox_add(h, c->heap, p, key, func);
            return;
        }
    }
    hmm_free_slow(p, func);
}

/* Only the thread's own heap reaches here (hooks that want every call
 * leave the fast path's heap at hmm_heap_empty, which owns no chunk), and the
 * chunk map and owner are known: what is left of hmm_locate's checks is
 * live_small_block for a slab's block and live_large_block for a large
 * one, which then skips hmm_free_slow's way to the span layer (about 85
 * instructions of a large free's 330). */
void hmm_free_unarmed(hmm_span *s, void *p, const char *func)
{
    uintptr_t key = hmm_free_key(p);
    if (live_small_block(s, p, key)) {
        hmm_slab_free(hmm_tls_heap, s, p, key);
        return;
    }
    if (live_large_block(s, p, key)) {
        hmm_large_free(hmm_tls_heap, s);
        return;
    }
    hmm_free_slow(p, func);
}

void hmm_free_block(hmm_chunk *c, hmm_span *s, void *p, const char *func)
{
    hmm_heap *h = hmm_tls_thread_heap;
    if (c->heap == h) {
        hmm_free_owned(h, s, p);
        return;
    }
    /* A thread's first call may be a free: it needs a heap for its outbox
     * and its counters. */
    if (h == &hmm_heap_empty)
        h = hmm_heap_get();
    hmm_remote_free(h, c, s, p, func);
}

size_t hmm_block_usable(const hmm_chunk *c, const hmm_span *s)
{
    if (!s)
        return hmm_huge_usable(c);
    size_t size = s->kind == HMM_SPAN_SLAB ? s->bsize : (size_t)s->npages << HMM_PAGE_SHIFT;
    return size - hmm_hooks.tail;
}

size_t hmm_block_size(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    if (hmm_unlikely(hmm_hooks.size_of != NULL))
        return hmm_hooks.size_of(c, s, p, func);
    return hmm_block_usable(c, s);
}

size_t hmm_usable_size(const void *p, const char *func)
{
    if (!p)
        return 0;
    hmm_chunk *c;
    hmm_span *s = hmm_locate(p, func, &c);
    return hmm_block_size(c, s, p, func);
}
