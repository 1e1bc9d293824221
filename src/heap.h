/*
 * heap.h - thread heaps and the fast paths.
 *
 * Each thread owns one heap (found through initial-exec TLS).  A heap owns
 * chunks; their pages it hands out as slabs of one size class or as large
 * blocks.  Only the owner touches a heap's state; a thread freeing a block
 * it does not own pushes it onto the owner's lock-free `remote` list, which
 * the owner drains on its slow path.  When a thread exits its heap is
 * abandoned and the next new thread adopts it whole.
 *
 * The fast paths below are the whole of a common malloc or free: a table
 * lookup and a list pop; a map check, a header load and a list push.
 * Anything unusual goes to a slow path: alloc.c, free.c, realloc.c, which
 * hand the work to slabs (slab.c), large blocks (large.c), cross-thread
 * frees (remote.c) or huge mappings (huge.c).  heap.c owns the heaps'
 * life cycle.
 */
#ifndef HMM_HEAP_H
#define HMM_HEAP_H

#include "chunk.h"
#include "sizeclass.h"

/* Largest block kept in a chunk's pages; larger ones are mapped alone. */
#define HMM_LARGE_MAX ((size_t)2 << 20)
/* Free-span bins: exact up to 15 pages, then four per doubling. */
#define HMM_NBINS 44

/* ACTIVE: owned by a live thread; ABANDONED: its thread exited; DRAINING:
 * another thread is freeing its remote blocks; DEAD: unusable (a thread
 * that vanished in fork). */
enum hmm_heap_state { HMM_HEAP_ACTIVE = 1, HMM_HEAP_ABANDONED, HMM_HEAP_DRAINING, HMM_HEAP_DEAD };

struct hmm_heap {
    hmm_span *cur[HMM_NCLASS];    /* slab allocated from, per class */
    hmm_list partial[HMM_NCLASS]; /* other slabs with free blocks */
    hmm_list bins[HMM_NBINS];     /* free spans, by length */
    uint64_t binmap;              /* bit b set when bins[b] is not empty */
    hmm_list chunks;              /* chunks owned */
    size_t nchunks;
    uint64_t next_purge;   /* hmm_os_now_ms() of the next purge pass */
    uint64_t next_reclaim; /* ... of the next look at memory beyond this heap */
    size_t dirty_pages;    /* pages of free spans that may be resident */
    uint64_t slabs, large_blocks, remote_frees;
    /* Small blocks this thread freed for one other heap, sent in a batch. */
    hmm_heap *out_heap;
    hmm_block *out_head, *out_tail;
    unsigned out_n;
    hmm_list all; /* in the registry of heaps */
    /* Secure mode: the blocks this thread freed whose reuse waits. */
    struct hmm_quarantine *quarantine;
    struct hmm_heap *next_abandoned;
    int state;
    /* Written by other threads: keep it off the owner's cache lines. */
    _Alignas(64) hmm_block *remote;
    char pad_[56];
};

/* The heap the fast paths use: the thread's heap, except in secure mode,
 * where it stays hmm_heap_empty so that every call takes a slow path. */
extern __thread hmm_heap *hmm_tls_heap __attribute__((tls_model("initial-exec")));
/* The calling thread's heap (hmm_heap_empty before its first call). */
extern __thread hmm_heap *hmm_tls_thread_heap __attribute__((tls_model("initial-exec")));
/* A heap with no memory, the TLS value of a thread before its first call. */
extern hmm_heap hmm_heap_empty;
/* Per-process secret mixed into the mark of free blocks. */
extern uintptr_t hmm_secret;

hmm_inline uintptr_t hmm_free_key(const void *p) { return hmm_secret ^ (uintptr_t)p; }

/* Sets the process up once (options, secret, thread-exit key, fork
 * handlers); false when it cannot. */
bool hmm_heap_init(void);
/* The calling thread's heap, adopting or creating one on its first call;
 * NULL when out of memory. */
hmm_heap *hmm_heap_get(void);
/* Periodic work of an allocating slow path: purge h's idle pages when a
 * pass is due, and now and then the huge cache and abandoned heaps. */
void hmm_heap_maintain(hmm_heap *h);

/* Slow paths: every call the fast paths cannot finish. */
void *hmm_alloc_slow(size_t size);
void hmm_free_slow(void *p, const char *func);
/* Allocates size bytes aligned to align from the layer that serves the
 * size, without secure mode's checks; *zeroed tells whether they are known
 * to be zero.  Sets errno on failure. */
void *hmm_alloc_block(size_t size, size_t align, bool *zeroed);
/* Frees block p (in span s of chunk c, checked by hmm_locate) through the
 * layer and heap that own it. */
void hmm_free_block(hmm_chunk *c, hmm_span *s, void *p);
/* Lists or releases slab s after a free made it empty or no longer full. */
void hmm_slab_after_free(hmm_heap *h, hmm_span *s);

/* The block p points to, checked: its chunk (*cp) and its span, or NULL
 * for a huge block.  A pointer libhmm did not hand out, or one already
 * freed, is reported as func's misuse. */
hmm_span *hmm_locate(const void *p, const char *func, hmm_chunk **cp);
/* The usable size of the block of chunk c and span s (NULL: huge): in
 * secure mode, less the canary. */
size_t hmm_block_usable(const hmm_chunk *c, const hmm_span *s);

/* Allocates size bytes aligned to align (a power of two, >= 16). */
void *hmm_alloc_aligned(size_t size, size_t align);
/* calloc's body: nmemb * size zeroed bytes (fresh pages are not cleared
 * again); NULL with errno ENOMEM when the product overflows. */
void *hmm_calloc(size_t nmemb, size_t size);
/* Usable size of a live block; reports misuse as func. */
size_t hmm_usable_size(const void *p, const char *func);
/* realloc's body; func names the entry point for diagnostics. */
void *hmm_realloc(void *p, size_t size, const char *func);

hmm_inline void *hmm_alloc(size_t size)
{
    if (hmm_likely(size <= HMM_TABLE_MAX)) {
        hmm_span *s = hmm_tls_heap->cur[hmm_class_table[(size + 15) >> 4]];
        hmm_block *b = s->free;
        if (hmm_likely(b != NULL)) {
            s->free = b->next;
            s->used++;
            b->key = 0;
            return b;
        }
    }
    return hmm_alloc_slow(size);
}

/* True when off (from the slab's start) starts a block slab s has handed
 * out: a pointer into the middle of a block must not reach a free list.
 * off is a multiple of bsize exactly when off * magic wraps to below magic
 * (Lemire's divisibility test, exact for 32-bit offsets). */
hmm_inline bool hmm_slab_block_ok(const hmm_span *s, size_t off)
{
    return off * s->magic < s->magic && off < s->carved_end;
}

hmm_inline void hmm_free(void *p, const char *func)
{
    if (hmm_likely(hmm_chunk_map_get(p) == 1)) {
        hmm_chunk *c = hmm_chunk_of(p);
        hmm_heap *h = hmm_tls_heap;
        if (hmm_likely(c->heap == h)) {
            size_t off;
            hmm_span *s = hmm_span_of_off(c, p, &off);
            hmm_block *b = p;
            if (hmm_likely(s->kind == HMM_SPAN_SLAB && b->key != hmm_free_key(p) &&
                           hmm_slab_block_ok(s, off))) {
                b->next = s->free;
                b->key = hmm_free_key(p);
                s->free = b;
                if (hmm_likely(--s->used != 0 && b->next != NULL))
                    return;
                hmm_slab_after_free(h, s);
                return;
            }
        }
    }
    hmm_free_slow(p, func);
}

/* Heap-wide consistency check of the calling thread's heap; aborts on error. */
int hmm_check_heap(void);
/* Sums the per-heap counters over every heap. */
void hmm_heap_stats(uint64_t *slabs, uint64_t *large, uint64_t *remote, uint64_t *abandoned);

#endif
