/*
 * hooks.h - the one interface between the allocator core and the features
 * above it (secure mode, the leak report, the heap profile, the heap
 * map): a table of hooks the core calls at the events features need, set
 * once at start-up, before the first allocation is served.
 *
 * The core names no feature.  A feature registers a set-up function with
 * HMM_AT_SETUP (src/api/features.c does, for all of them); the core runs
 * it once the options are read (hmm_heap_setup), and it fills the table
 * with hmm_hooks_install.  The core tests one word, hmm_hooks.on, on paths
 * that branch already; with no feature on it is 0 and the core runs as it
 * would with no hooks at all.  Observers (leaks, profile, heap map) only
 * hear of events; a hardening feature (secure mode) also takes over the
 * slow paths that place and free blocks, and keeps tail bytes after each
 * small and large block.
 */
#ifndef HMM_HOOKS_H
#define HMM_HOOKS_H

#include "core/chunk.h"
#include "core/sizeclass.h"

/* The moments of a fork the core's handlers pass on. */
enum hmm_fork_phase { HMM_FORK_PREPARE, HMM_FORK_PARENT, HMM_FORK_CHILD };

/* Bits of hmm_hooks.on besides HMM_HOOKS_ON. */
enum {
    HMM_HOOKS_ON = 1,         /* some hook is set: the hooked slow paths */
    HMM_HOOKS_EVERY_CALL = 2, /* every call reaches a slow path (the fast paths are off) */
    HMM_HOOKS_TICK_ALWAYS = 4 /* the tick hook at every allocating slow call */
};

typedef struct hmm_hook_table {
    /* 0 with no feature on; else HMM_HOOKS_ON and the bits above.  Set by
     * hmm_hooks_install from the hooks given. */
    uint32_t on;
    /* Bytes kept after the usable size of every small and large block (a
     * canary, in secure mode), and asked for beyond a huge block's size;
     * 0 without a hardening feature. */
    uint32_t tail;

    /* --- a hardening feature's slow paths (NULL: the core's own) --- */
    /* Every allocation the fast paths do not serve: size bytes aligned to
     * align, with room for the tail, from hmm_alloc_block; NULL when out of
     * memory. */
    void *(*alloc)(size_t size, size_t align, bool *zeroed, const char *func);
    /* Tried first for a small request of malloc's slow path, before the
     * general way: a block or NULL.  Set only when no observer must see
     * the call. */
    void *(*alloc_small)(size_t size, const char *func);
    /* Frees block p (span s of chunk c, checked; s NULL for a huge block),
     * instead of hmm_free_block or hmm_huge_free. */
    void (*dispose)(hmm_chunk *c, hmm_span *s, void *p, const char *func);
    /* Set with dispose when no observer must see the call: free's slow path
     * hands it a small block of the calling thread's heap without the
     * general checks (free's fast path's checks passed). */
    bool free_owned;
    /* Checks block p (s NULL: huge) before realloc reads or resizes it. */
    void (*check)(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func);
    /* The size a live block p (s NULL: huge) was asked for, which is then
     * its usable size (malloc_usable_size, realloc's copy); NULL: all of
     * hmm_block_usable. */
    size_t (*size_of)(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func);
    /* Block p now holds size bytes asked for: realloc resized it in place
     * or moved it, or it was allocated larger than asked (a sample). */
    void (*resized)(void *p, size_t size);
    /* Carves slab s's next page (hmm_slab_carve's blocks, in another
     * order or filled). */
    void (*carve)(hmm_span *s);

    /* --- observers --- */
    /* Block p of size bytes was allocated by a slow path. */
    void (*allocated)(void *p, size_t size);
    /* Block p is being freed. */
    void (*freed)(void *p);
    /* Block p was resized by realloc to size bytes and is at q now. */
    void (*moved)(void *p, void *q, size_t size);
    /* The sampling countdown (hmm_heap.countdown: bytes allocated to the
     * next sample) ran out, or a new heap needs one: stores the next in
     * *next and returns whether the allocation that ran it out is to be
     * sampled.  A sampled allocation gets pages of its own (so that its
     * free reaches a slow path) and is passed to sampled. */
    bool (*sample)(int64_t *next);
    /* Block p of size bytes, allocated for a sample; hmm_watch marks it. */
    void (*sampled)(void *p, size_t size);
    /* Watched block p is being freed, or resized by realloc (the core has
     * cleared its mark). */
    void (*unwatched)(void *p);
    /* Periodic work: at the allocating slow paths' maintenance (every
     * allocating slow call with HMM_HOOKS_TICK_ALWAYS). */
    void (*tick)(uint64_t now);
    /* The calling thread got its heap. */
    void (*thread_start)(void);
    /* Thread heap h's thread exits: before it is given back. */
    void (*thread_exit)(hmm_heap *h);
    void (*fork)(enum hmm_fork_phase phase);
    /* Set with every_call: the fast paths' heap stays hmm_heap_empty. */
    bool every_call;
    /* Set with tick: HMM_HOOKS_TICK_ALWAYS. */
    bool tick_always;
} hmm_hook_table;

/* The table the core reads.  Written by hmm_hooks_install only. */
extern hmm_hook_table hmm_hooks HMM_HIDDEN;

/* Makes t the table (on computed from it) and lets the calling thread's
 * heap take the fast paths or not as it says.  At start-up (an
 * HMM_AT_SETUP function), or while one thread runs (a constructor turning
 * a feature off). */
void hmm_hooks_install(const hmm_hook_table *t);

/* A function the core runs once at set-up, after the options are read and
 * before the first allocation is served, in no given order: as
 * __attribute__((constructor)) is to the loader, with the options known.
 * Kept in the hmm_setup section, which hmm_hooks_setup walks. */
typedef void hmm_setup_fn(void);
#define HMM_AT_SETUP(fn)                                                                           \
    static hmm_setup_fn *const hmm_setup_##fn                                                      \
        __attribute__((section("hmm_setup"), used, aligned(sizeof(void *)))) = fn

/* Runs the HMM_AT_SETUP functions linked in (hmm_heap_setup). */
void hmm_hooks_setup(void);

/* Marks block p (large or huge, on pages of its own) as watched: its free
 * and its resizing reach the slow paths, which call unwatched. */
void hmm_watch(void *p);

/* True when the block of chunk c and span s (NULL: huge) is watched. */
hmm_inline bool hmm_watched(const hmm_chunk *c, const hmm_span *s)
{
    return s ? (s->flags & HMM_SPAN_WATCHED) != 0 : c->watched != 0;
}

/* Clears the mark of watched block p of chunk c and span s and tells the
 * feature. */
void hmm_unwatch(hmm_chunk *c, hmm_span *s, void *p);

/* What to ask of the layers for a watched block of size bytes: a size the
 * slabs do not serve. */
hmm_inline size_t hmm_watched_size(size_t size)
{
    return size > HMM_SMALL_MAX ? size : HMM_SMALL_MAX + 1;
}

#endif
