/*
 * chunk.h - chunks, the 4 MiB aligned units memory comes in, and the page
 * descriptors (spans) in their headers.  A process-wide byte map over the
 * address space says which chunks are libhmm's, so any pointer is checked
 * in O(1) before its header is touched.
 *
 * A chunk's pages are tiled by spans.  The descriptor of a span's first
 * page (its head) holds its state; the tags of the head and of its last
 * page name the head (the last page's is a boundary tag), and so do those
 * of all pages of a slab, so a pointer anywhere in a slab finds its slab.
 * Every other page's tag is 0, which names the chunk header's descriptor
 * (kind META), and its descriptor is kept at kind NONE, so a pointer into
 * the middle of a large block or a free span is recognized as invalid.
 */
#ifndef HMM_CHUNK_H
#define HMM_CHUNK_H

#include "base/internal.h"
#include "base/list.h"

typedef struct hmm_heap hmm_heap;

/* A free block: link is the next block of its list, encoded (hmm_block_mark_free
 * in heap.h); key marks it free so a double free is caught. */
typedef struct hmm_block {
    uintptr_t link;
    uintptr_t key;
} hmm_block;

enum hmm_span_kind {
    HMM_SPAN_NONE = 0, /* not a head */
    HMM_SPAN_FREE,     /* free pages, in a bin of the owning heap */
    HMM_SPAN_SLAB,     /* small blocks of one size class */
    HMM_SPAN_LARGE,    /* one block of whole pages */
    HMM_SPAN_META,     /* the chunk header itself */
};

enum hmm_span_flags {
    HMM_SPAN_ZEROED = 1,  /* FREE: every page reads as zero */
    HMM_SPAN_DIRTY = 2,   /* FREE: some page may still be resident */
    HMM_SPAN_LISTED = 4,  /* SLAB: on its heap's list of slabs with free blocks */
    HMM_SPAN_WATCHED = 8, /* LARGE: a feature hears of its free (core/hooks.h) */
};

typedef struct hmm_span {
    hmm_block *free; /* SLAB: free blocks, ending at hmm_slab_end(s) */
    hmm_list link;   /* FREE: bin list; SLAB: heap's partial list */
    uint32_t npages; /* heads: length of the span */
    union {
        uint32_t freed_at; /* FREE: hmm_os_now_ms() when it became free, for purging */
        struct {
            /* SLAB: blocks handed out, plus HMM_SLAB_CUR while the slab
             * is its heap's current slab (so a free never finds a current
             * slab empty). */
            uint16_t used;
            uint16_t carved; /* SLAB: blocks carved out of fresh memory so far */
        };
    };
    uint8_t kind;
    uint8_t flags;
    uint8_t cls; /* SLAB: size class */
    uint8_t pad_;
    uint16_t count; /* SLAB: blocks the slab holds */
    uint16_t bsize; /* SLAB: block size */
    /* The block-start test of the free fast path (hmm_slab_block_ok):
     * magic is 2^64 / bsize rounded up, plus 1, magic_base is magic * the
     * slab's start address, and limit is carved * (magic * bsize mod 2^64),
     * while the fast path may take this slab's blocks (the heap's current
     * slab and its partial slabs).  limit is 0 on every other descriptor
     * (not a slab head, or a full slab off the heap's lists), which fails
     * the test. */
    uint64_t magic;
    union {
        uint64_t magic_base;
        uint64_t feature; /* LARGE: a hardening feature's word (secure mode: the size asked) */
    };
    uint64_t limit;
} hmm_span;
_Static_assert(sizeof(hmm_span) == 64, "a page descriptor is one cache line");
_Static_assert((1024 - 1) * 64 <= UINT16_MAX, "a tag holds the offset of any head descriptor");

enum { HMM_CHUNK_NORMAL = 0x484d4d43u, HMM_CHUNK_HUGE = 0x484d4d48u };

typedef struct hmm_chunk {
    uint32_t magic;      /* HMM_CHUNK_NORMAL or HMM_CHUNK_HUGE */
    uint32_t free_pages; /* NORMAL: pages in free spans */
    hmm_heap *heap;      /* NORMAL: the owning heap; NULL for HUGE */
    hmm_list link;       /* in the owner's chunk list */
    size_t map_size;     /* HUGE: bytes mapped, header included */
    size_t offset;       /* HUGE: from the mapping's start to the block */
    uint32_t watched;    /* HUGE: a feature hears of its free (core/hooks.h) */
    uint32_t pad_;
    size_t feature; /* HUGE: a hardening feature's word (secure mode: the size asked) */
    /* Per page: the byte offset in pages[] of its span's head descriptor
     * (64 * its index), set on heads, on last pages and on every page of a
     * slab; 0 elsewhere.  Kept apart from the descriptors, so finding a
     * pointer's slab reads one dense line, not a descriptor, and takes
     * one load and one add. */
    uint16_t tag[HMM_CHUNK_PAGES];
    hmm_span pages[HMM_CHUNK_PAGES];
} hmm_chunk;

/* Pages at the start of a chunk that hold its header. */
#define HMM_META_PAGES ((sizeof(hmm_chunk) + HMM_PAGE_SIZE - 1) >> HMM_PAGE_SHIFT)
#define HMM_USABLE_PAGES (HMM_CHUNK_PAGES - HMM_META_PAGES)

/* One byte per chunk-sized slot of the address space: 0 not ours, 1 a chunk
 * header is at the slot's start, 2 the header is one slot below (huge blocks
 * aligned to a chunk or more).  It lives in .bss (32 MiB of address space,
 * zero pages until written), so it is there before any initialization: a
 * free() before the first malloc() is checked like any other. */
#define HMM_MAP_SLOTS ((size_t)1 << (HMM_ADDR_BITS - HMM_CHUNK_SHIFT))
extern uint8_t hmm_chunk_map[HMM_MAP_SLOTS];

hmm_inline hmm_chunk *hmm_chunk_of(const void *p)
{
    return (hmm_chunk *)((uintptr_t)p & ~(uintptr_t)HMM_CHUNK_MASK);
}

/* True when p and q are in the same chunk: a chunk is mapped whole, so
 * where p may be read, q may be too. */
hmm_inline bool hmm_same_chunk(const void *p, const void *q)
{
    return (((uintptr_t)p ^ (uintptr_t)q) >> HMM_CHUNK_SHIFT) == 0;
}

/* The chunk-map byte for p (0 for addresses outside user space). */
hmm_inline unsigned hmm_chunk_map_get(const void *p)
{
    size_t slot = (uintptr_t)p >> HMM_CHUNK_SHIFT;
    if (hmm_unlikely(slot >= HMM_MAP_SLOTS))
        return 0;
    return hmm_chunk_map[slot];
}

hmm_inline size_t hmm_span_index(const hmm_span *s) { return (size_t)(s - hmm_chunk_of(s)->pages); }

hmm_inline char *hmm_span_addr(const hmm_span *s)
{
    return (char *)hmm_chunk_of(s) + (hmm_span_index(s) << HMM_PAGE_SHIFT);
}

/* The descriptor page's tag names (see hmm_chunk.tag). */
hmm_inline hmm_span *hmm_tag_get(const hmm_span *page)
{
    hmm_chunk *c = hmm_chunk_of(page);
    return (hmm_span *)((char *)c->pages + c->tag[page - c->pages]);
}

/* Makes page's tag name head (a page of the same chunk). */
hmm_inline void hmm_tag_set(hmm_span *page, const hmm_span *head)
{
    hmm_chunk *c = hmm_chunk_of(page);
    c->tag[page - c->pages] = (uint16_t)((size_t)(head - c->pages) * sizeof(hmm_span));
}

/* Makes page an interior page: its tag is 0. */
hmm_inline void hmm_tag_clear(hmm_span *page)
{
    hmm_chunk *c = hmm_chunk_of(page);
    c->tag[page - c->pages] = 0;
}

/* The descriptor of the page holding p, resolved to a head where its tag
 * names one (the header's descriptor, kind META, for the interior pages of
 * large blocks and free spans). */
hmm_inline hmm_span *hmm_span_of(hmm_chunk *c, const void *p)
{
    size_t i = ((uintptr_t)p & HMM_CHUNK_MASK) >> HMM_PAGE_SHIFT;
    return (hmm_span *)((char *)c->pages + c->tag[i]);
}

/* hmm_span_of, also giving p's offset from the start of the span. */
hmm_inline hmm_span *hmm_span_of_off(hmm_chunk *c, const void *p, size_t *off)
{
    hmm_span *s = hmm_span_of(c, p);
    *off = (size_t)((const char *)p - hmm_span_addr(s));
    return s;
}

void hmm_chunk_map_set(const void *slot, uint8_t v);
/* A new chunk for heap, which owns `owned` chunks already, formatted as
 * one free span. */
hmm_chunk *hmm_chunk_acquire(hmm_heap *heap, size_t owned);
/* Unmaps a wholly free chunk. */
void hmm_chunk_release(hmm_chunk *c);

#endif
