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

#include <pthread.h>

#include "base/diag.h"
#include "base/random.h"
#include "core/chunk.h"
#include "core/hooks.h"
#include "core/sizeclass.h"

/* Largest block kept in a chunk's pages; larger ones are mapped alone. */
#define HMM_LARGE_MAX ((size_t)2 << 20)
/* Free-span bins: exact up to 15 pages, then four per doubling. */
#define HMM_NBINS 44

/* ACTIVE: owned by a live thread; ABANDONED: its thread exited; DRAINING:
 * another thread is freeing its remote blocks; DEAD: unusable (a thread
 * that vanished in fork). */
enum hmm_heap_state { HMM_HEAP_ACTIVE = 1, HMM_HEAP_ABANDONED, HMM_HEAP_DRAINING, HMM_HEAP_DEAD };

/* Remote stacks per heap (hmm_heap.remote). */
#define HMM_REMOTE_LANES 4

/* Entries of hmm_heap.fast: sizes 0..HMM_TABLE_MAX by (size + 15) / 16. */
#define HMM_NFAST (HMM_TABLE_MAX / 16 + 1)

/* Laid out for the owner thread: the fast paths' fields first, the
 * sampling countdown on the same line as the smallest sizes' entries of
 * fast[] (so a malloc of up to 96 bytes touches one line of its heap);
 * what other threads read or write on lines of its own, so that their
 * walks and frees do not take the owner's lines from it. */
struct hmm_heap {
    /* Bytes to allocate before the next sample (hmm_hooks.sample); the
     * allocation that takes it below zero is sampled by a slow path. */
    int64_t countdown;
    /* cur[hmm_class_table[i]] for each i, so that malloc's fast path
     * skips the class lookup; set with cur (hmm_slab_set_cur). */
    hmm_span *fast[HMM_NFAST];
    hmm_span *cur[HMM_NCLASS];    /* slab allocated from, per class */
    hmm_list partial[HMM_NCLASS]; /* other slabs with free blocks */
    /* Emptied slabs kept for the class's next slab, the last emptied
     * first, and their pages (slab.c). */
    hmm_list spare[HMM_NCLASS];
    size_t spare_pages;
    hmm_list bins[HMM_NBINS]; /* free spans, by length */
    uint64_t binmap;          /* bit b set when bins[b] is not empty */
    hmm_list chunks;          /* chunks owned */
    size_t nchunks;
    uint64_t next_purge;   /* hmm_os_now_ms() of the next purge pass */
    uint64_t next_reclaim; /* ... of the next look at memory beyond this heap */
    size_t dirty_pages;    /* pages of free spans that may be resident */
    size_t used_pages;     /* pages of slabs and large blocks */
    uint32_t excess_after; /* (uint32_t)hmm_os_now_ms() before which no purge_excess pass runs */
    uint64_t remote_frees;
    /* Changes of slabs to go before the next maintenance (alloc.c). */
    unsigned maintain_skip;
    /* Small blocks this thread freed for one other heap, sent in a batch:
     * block i goes to lane i % HMM_REMOTE_LANES (see remote). */
    hmm_heap *out_heap;
    hmm_block *out_head[HMM_REMOTE_LANES], *out_tail[HMM_REMOTE_LANES];
    unsigned out_n;
    /* A hardening feature's own state for this heap (secure mode: the
     * blocks freed whose reuse waits). */
    void *feature;

    /* --- read or written by other threads --- */
    _Alignas(64) hmm_list all; /* in the registry of heaps, walked by all */
    struct hmm_heap *next_abandoned;
    int state;
    /* The span allocator's lock (span.c): the owner takes it on every span
     * operation, the purger thread only tries it; span_want is set by an
     * owner waiting for it, and ends the purger's pass. */
    int span_busy;
    int span_want;
    /* 1 + the pad of a malloc_trim another thread asked for; 0: none.  The
     * owner trims on its next purge check (hmm_span_purge_if_due). */
    uint64_t trim_request;
    /* Held by the owner while it adds or unmaps a chunk, and by a thread
     * reading the heap's chunks (hmm_census_heap): they stay mapped. */
    pthread_mutex_t lock;
    /* Blocks other threads freed, in lock-free stacks (lanes) that the
     * owner walks side by side: each block was last written by another
     * core, so a walk waits for a cache miss per block, and chains walked
     * in turn have their misses in flight together.  Written by every
     * thread that frees into this heap: a line of its own. */
    _Alignas(64) hmm_block *remote[HMM_REMOTE_LANES];
    char pad_[64 - HMM_REMOTE_LANES * sizeof(hmm_block *)];
};

/* The heap the fast paths use: the thread's heap, except while the hooks
 * want every call (HMM_HOOKS_EVERY_CALL: secure and leaks mode), where it
 * stays hmm_heap_empty so that every call takes a slow path. */
extern __thread hmm_heap *hmm_tls_heap __attribute__((tls_model("initial-exec")));
/* The calling thread's heap (hmm_heap_empty before its first call). */
extern __thread hmm_heap *hmm_tls_thread_heap __attribute__((tls_model("initial-exec")));
/* A heap with no memory, the TLS value of a thread before its first call. */
extern hmm_heap hmm_heap_empty;
/* The free mark of block p (its key while it is free). */
hmm_inline uintptr_t hmm_free_key(const void *p) { return hmm_secret ^ (uintptr_t)p; }

/*
 * Every in-band link (slab free lists, the outbox, the remote stack) is
 * stored as next ^ hmm_secret ^ &link, that is next ^ the mark of the block
 * holding it.  The secret keeps a write into a freed block (an overflow, a
 * stale pointer) from planting a chosen pointer: what it writes decodes to
 * an address that fails the checks made before a link is followed, unless
 * the writer knows the secret.  The link's own address makes a link copied
 * into another block decode to garbage too.  One XOR each way, with the key
 * the paths compute anyway; a costlier mix would buy nothing, as whoever
 * can read a free block's mark can work out the secret from it.
 */
hmm_inline void hmm_block_mark_free(hmm_block *b, uintptr_t key, const hmm_block *next)
{
    b->link = (uintptr_t)next ^ key;
    b->key = key;
}

/* The decoded link of free block b, whose mark is key: not checked yet. */
hmm_inline hmm_block *hmm_link_next(const hmm_block *b, uintptr_t key)
{
    return (hmm_block *)(b->link ^ key);
}

/* Added to a slab's used count while it is its heap's current slab. */
#define HMM_SLAB_CUR 0x8000

/* The end of slab s's free list: its own descriptor, in the same chunk as
 * its blocks, so a link to it passes the chunk check; its second word
 * (s->link.next, a pointer or NULL) never equals a free mark, which is odd
 * (hmm_secret is).  hmm_span_empty's list holds just this end. */
hmm_inline hmm_block *hmm_slab_end(const hmm_span *s) { return (hmm_block *)s; }

/* True when slab s has a free block on its list. */
hmm_inline bool hmm_slab_has_free(const hmm_span *s) { return s->free != hmm_slab_end(s); }

/* Pushes block b, whose mark is key, on slab s's free list. */
hmm_inline void hmm_slab_push(hmm_span *s, hmm_block *b, uintptr_t key)
{
    hmm_block_mark_free(b, key, s->free);
    s->free = b;
}

/* Hands out the head of slab s's free list for func; NULL when the list is
 * empty.  The head is always in the slab's chunk (checked when it was
 * pushed or, as a link, popped), so it can be read.  Its mark proves it is
 * a free block's start (forging one takes the secret); its decoded link
 * must stay in the same chunk (next ^ b = link ^ secret, below the chunk
 * size), so the next pop reads mapped memory.  The list's end has no valid
 * mark, so an empty list and a corrupted head take the same branch, which
 * tells them apart.  A block that fails is neither handed out nor
 * followed. */
hmm_inline void *hmm_slab_pop(hmm_span *s, const char *func)
{
    hmm_block *b = s->free;
    uintptr_t key = hmm_free_key(b);
    uintptr_t d = b->link ^ hmm_secret;
    if (hmm_unlikely(b->key != key || d > HMM_CHUNK_MASK)) {
        if (b == hmm_slab_end(s))
            return NULL;
        hmm_corrupt_list(func, b);
    }
    s->free = (hmm_block *)((uintptr_t)b ^ d);
    s->used++;
    b->key = 0;
    return b;
}

/* True once the process is set up (hmm_heap_setup). */
extern bool hmm_heap_ready;
/* hmm_heap_init's first calls: sets the process up (options, secret,
 * thread-exit key, fork handlers); false when it cannot. */
bool hmm_heap_setup(void);
/* Sets the process up once; false when it cannot.  Inline: every
 * allocation off the fast path asks, where the call cost 12
 * instructions. */
hmm_inline bool hmm_heap_init(void)
{
    return hmm_likely(__atomic_load_n(&hmm_heap_ready, __ATOMIC_ACQUIRE)) || hmm_heap_setup();
}
/* Makes h, the calling thread's heap, the one its fast paths use, or
 * not, as hmm_hooks.on says (HMM_HOOKS_EVERY_CALL). */
void hmm_heap_use_fast_path(hmm_heap *h);
/* hmm_heap_get's first call in a thread: adopts or creates its heap;
 * NULL when out of memory. */
hmm_heap *hmm_heap_attach(void);
/* The calling thread's heap, adopting or creating one on its first call;
 * NULL when out of memory.  Inline: the general path asks at every call,
 * where the call cost a large allocation 13 instructions. */
hmm_inline hmm_heap *hmm_heap_get(void)
{
    hmm_heap *h = hmm_tls_thread_heap;
    return hmm_likely(h != &hmm_heap_empty) ? h : hmm_heap_attach();
}
/* Periodic work of an allocating slow path: purge h's idle pages when a
 * pass is due, and now and then the huge cache and abandoned heaps.  func
 * names the entry point in reports of corrupted free lists, here and in
 * every function below that takes it. */
void hmm_heap_maintain(hmm_heap *h, const char *func);

/* Slow paths: every call the fast paths cannot finish. */
void *hmm_alloc_slow(size_t size, const char *func);
/* The fast path popped p from current slab s for a call that ran the
 * sampling countdown out: puts p back and has the slow path serve it. */
void *hmm_alloc_sampled(hmm_span *s, void *p, size_t size, const char *func);
void hmm_free_slow(void *p, const char *func);
/* Counts an allocation of size bytes against the calling thread's
 * sampling countdown (or finds it run out by the fast path): true when it
 * is to be sampled (hmm_hooks.sample). */
bool hmm_sample_due(size_t size);
/* One try at size (> 0) bytes aligned to align from the layer that serves
 * the size, without the hooks' alloc or the retry after giving memory
 * back; *zeroed tells whether they are known to be zero.  NULL when the
 * memory could not be had. */
void *hmm_alloc_block(size_t size, size_t align, bool *zeroed, const char *func);
/* Frees block p (in span s of chunk c, checked by hmm_locate) through the
 * layer and heap that own it; func names the entry point in a report. */
void hmm_free_block(hmm_chunk *c, hmm_span *s, void *p, const char *func);
/* Lists or releases slab s after a free made it empty or no longer full,
 * or after it stopped being its heap's current slab. */
void hmm_slab_after_free(hmm_heap *h, hmm_span *s);
/* hmm_slab_after_free for the free fast path, which found slab s of its
 * own heap empty: the heap is the chunk's owner. */
__attribute__((cold)) void hmm_slab_emptied(hmm_span *s);

/* The block p points to, checked: its chunk (*cp) and its span, or NULL
 * for a huge block.  A pointer libhmm did not hand out, or one already
 * freed, is reported as func's misuse. */
hmm_span *hmm_locate(const void *p, const char *func, hmm_chunk **cp);
/* The usable size of the block of chunk c and span s (NULL: huge): less
 * the hooks' tail for a small or large one. */
size_t hmm_block_usable(const hmm_chunk *c, const hmm_span *s);
/* What a program may use of live block p of chunk c and span s (NULL:
 * huge): hmm_block_usable, or the size asked for when a hardening feature
 * keeps it (hmm_hooks.size_of). */
size_t hmm_block_size(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func);

/* Allocates size bytes aligned to align (a power of two, >= 16). */
void *hmm_alloc_aligned(size_t size, size_t align, const char *func);
/* calloc's body: nmemb * size zeroed bytes (fresh pages are not cleared
 * again); NULL with errno ENOMEM when the product overflows. */
void *hmm_calloc(size_t nmemb, size_t size, const char *func);
/* Usable size of a live block; reports misuse as func. */
size_t hmm_usable_size(const void *p, const char *func);
/* realloc's body; func names the entry point for diagnostics. */
void *hmm_realloc(void *p, size_t size, const char *func);

hmm_inline void *hmm_alloc(size_t size, const char *func)
{
    if (hmm_likely(size <= HMM_TABLE_MAX)) {
        hmm_heap *h = hmm_tls_heap;
        hmm_span *s = h->fast[(size + 15) >> 4];
        void *p = hmm_slab_pop(s, func);
        if (hmm_likely(p != NULL)) {
            /* The call that takes the countdown below zero is the next
             * sample, taken by the slow path (a tail call: an inline
             * shared with hmm_alloc_aligned that puts the block back
             * itself keeps size in a saved register, two instructions
             * more on every call). */
            if (hmm_likely((h->countdown -= (int64_t)size) >= 0))
                return p;
            return hmm_alloc_sampled(s, p, size, func);
        }
    }
    return hmm_alloc_slow(size, func);
}

/* True when p starts a block that slab s has carved (handed out or free):
 * a pointer into the middle of a block or past the carved blocks must not
 * reach a free list.  With off = p - start, y = off * magic mod 2^64 is
 * k * e for off = k * bsize, where e = magic * bsize - 2^64 is in
 * [bsize, 2 bsize), and at least magic (> 2^49) for any other off below
 * 2^32 (Lemire's divisibility test), so y < limit = carved * e holds
 * exactly for the carved blocks' starts.  y is computed on the address,
 * p * magic - magic_base; p is at or after the slab's start, as its page
 * is one of the slab's.  A descriptor whose limit is 0 fails. */
hmm_inline bool hmm_slab_block_ok(const hmm_span *s, const void *p)
{
    return (uintptr_t)p * s->magic - s->magic_base < s->limit;
}

/* hmm_slab_block_ok with the bound made from carved: for any slab, a full
 * one whose limit is 0 included (magic and magic_base are set for as long
 * as the span is a slab).  A multiply where a division would do. */
hmm_inline bool hmm_slab_block_carved(const hmm_span *s, const void *p)
{
    return (uintptr_t)p * s->magic - s->magic_base < s->carved * (s->magic * s->bsize);
}

/* free's way for pointer p of span s of a chunk the calling thread's fast
 * path heap owns, which the block-start test refused: commonly the first
 * free into a full slab (one per change of slabs), whose limit is 0, and
 * a large block. */
void hmm_free_unarmed(hmm_span *s, void *p, const char *func);

/* free's way for pointer p into chunk c, which the calling thread's fast
 * path heap does not own (chunk map 1: a chunk or a huge block). */
void hmm_free_other(void *p, hmm_chunk *c, const char *func);

/* free's fast path: a small block of the calling thread's heap whose slab
 * stays in use.  Checked: the chunk map (libhmm's memory), the owner, the
 * block start (which also rejects every span that is not a usable slab,
 * their limit being 0), the free mark (double free).  A chunk of another
 * owner goes to hmm_free_other (cross-thread frees), a block the
 * block-start test refuses to hmm_free_unarmed (a full slab's first
 * free, a large block); every other case, misuse included, to hmm_free_slow, which tells
 * them apart. */
hmm_inline void hmm_free(void *p, const char *func)
{
    if (hmm_likely(hmm_chunk_map_get(p) == 1)) {
        hmm_chunk *c = hmm_chunk_of(p);
        hmm_heap *h = hmm_tls_heap;
        if (hmm_likely(c->heap == h)) {
            hmm_span *s = hmm_span_of(c, p);
            hmm_block *b = p;
            /* s in a register: the compiler would otherwise keep the page
             * index alive to rebuild s for hmm_slab_emptied. */
            __asm__("" : "+r"(s));
            if (hmm_likely(hmm_slab_block_ok(s, p))) {
                uintptr_t key = hmm_free_key(p);
                if (hmm_likely(b->key != key)) {
                    hmm_slab_push(s, b, key);
                    if (hmm_likely(--s->used != 0))
                        return;
                    hmm_slab_emptied(s);
                    return;
                }
            } else {
                hmm_free_unarmed(s, p, func);
                return;
            }
        } else {
            hmm_free_other(p, c, func);
            return;
        }
    }
    hmm_free_slow(p, func);
}

/* Heap-wide consistency check of the calling thread's heap; aborts on error. */
int hmm_check_heap(void);
/* The heap made after h in the registry (the first for NULL), or NULL.
 * Heaps are never unmapped, so one may be kept and walked from later. */
hmm_heap *hmm_heap_next(hmm_heap *h);
/* True while a live thread owns a heap. */
bool hmm_heap_active(void);
/* How much a purge pass gives back. */
enum hmm_purge {
    HMM_PURGE_IDLE,  /* free spans idle for the purge delay; wholly free chunks but one */
    HMM_PURGE_FORCE, /* every free span, whatever its age; wholly free chunks but one */
    HMM_PURGE_ALL,   /* as FORCE, and the chunk a heap otherwise keeps */
};

/* Gives back, now, free memory of the calling thread's heap and of
 * abandoned heaps as how says (hmm_span_purge), keeping pad bytes of dirty
 * free pages in each, and the whole huge cache; asks live threads to trim
 * their own heaps at their next purge check.  Returns the bytes given
 * back (purged or unmapped). */
size_t hmm_heap_trim(size_t pad, enum hmm_purge how, const char *func);

/* For when the kernel refuses memory: everything free this thread may
 * give back goes back, the chunks heaps keep included (under an
 * address-space limit only unmapping helps).  True when anything went
 * back, so that a retry may succeed. */
hmm_inline bool hmm_heap_release_free(const char *func)
{
    return hmm_heap_trim(0, HMM_PURGE_ALL, func) > 0;
}

#endif
