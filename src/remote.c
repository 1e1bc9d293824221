/*
 * remote.c - frees that cross threads: the owner's lock-free remote stack,
 * the freeing thread's outbox that batches small blocks per destination,
 * draining on the owner's slow paths, and draining heaps whose thread
 * exited.
 */
#include "remote.h"

#include "large.h"
#include "os.h"
#include "slab.h"
#include "span.h"

/* Blocks a thread batches for another heap before sending them. */
#define OUTBOX_MAX 32

void hmm_free_owned(hmm_heap *h, void *p)
{
    hmm_span *s = hmm_span_of(hmm_chunk_of(p), p);
    if (s->kind == HMM_SPAN_SLAB)
        hmm_slab_free(h, s, p);
    else
        hmm_large_free(h, s);
}

void hmm_remote_drain(hmm_heap *h)
{
    hmm_block *b = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
    while (b) {
        hmm_block *next = b->next;
        hmm_free_owned(h, b);
        b = next;
    }
}

/* The state word is the heap's lock: whoever moves it from ABANDONED owns
 * the heap until it moves it back. */
bool hmm_remote_reclaim(hmm_heap *h, bool release)
{
    int expect = HMM_HEAP_ABANDONED;
    if (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_DRAINING, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return false;
    hmm_remote_drain(h);
    bool unmapped = false;
    if (release)
        unmapped = hmm_span_purge(h, HMM_PURGE_ALL);
    else
        hmm_span_purge_if_due(h, hmm_os_now_ms());
    __atomic_store_n(&h->state, HMM_HEAP_ABANDONED, __ATOMIC_RELEASE);
    return unmapped;
}

/* Pushes the chain first..last on owner's remote list with one CAS. */
static void remote_push(hmm_heap *owner, hmm_block *first, hmm_block *last)
{
    hmm_block *head = __atomic_load_n(&owner->remote, __ATOMIC_RELAXED);
    do
        last->next = head;
    while (!__atomic_compare_exchange_n(&owner->remote, &head, first, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    if (__atomic_load_n(&owner->state, __ATOMIC_RELAXED) == HMM_HEAP_ABANDONED)
        hmm_remote_reclaim(owner, false);
}

void hmm_outbox_flush(hmm_heap *h)
{
    if (!h->out_head)
        return;
    remote_push(h->out_heap, h->out_head, h->out_tail);
    h->out_head = h->out_tail = NULL;
    h->out_n = 0;
}

/* Small blocks are batched (at most OUTBOX_MAX per thread, so little
 * memory waits); others, and those of a thread without a heap, go at once. */
void hmm_remote_free(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b)
{
    b->key = hmm_free_key(b);
    if (s->kind != HMM_SPAN_SLAB || !h) {
        remote_push(c->heap, b, b);
        return;
    }
    h->remote_frees++;
    if (h->out_heap != c->heap) {
        hmm_outbox_flush(h);
        h->out_heap = c->heap;
    }
    b->next = h->out_head;
    h->out_head = b;
    if (!h->out_tail)
        h->out_tail = b;
    if (++h->out_n >= OUTBOX_MAX)
        hmm_outbox_flush(h);
}
