/*
 * secure.c - secure mode: the size each block was asked for and the checks
 * of the bytes after it, the poison of free blocks and its checks, the
 * per-thread quarantine, and the shuffled carving of slabs.
 *
 * Every block keeps the size asked (a small block in its end word, a large
 * one in its span's descriptor, a huge one in its header), and the bytes
 * from there to the block's end hold a pattern and, for small and large
 * blocks, an 8-byte end word with a canary derived from the secret; the
 * usable size is the size asked, so a write even one byte past it is
 * caught when the block is freed or reallocated, and reported with how far
 * past the end it was.  A freed block is filled with a pattern (its first
 * 4 KiB: this bounds the cost for large blocks), marked free (so a second
 * free is still a double free), and waits in the freeing thread's
 * quarantine, a ring of at most 256 blocks and 1 MiB, before it is freed
 * for real.  When it leaves the quarantine the pattern is checked, and
 * again (all but the two words the slab free list uses) when a slab hands
 * the block out, and at exit for what the main thread still holds.  Slab
 * pages are poisoned when carved, and their blocks threaded in random
 * order, so every free small block holds the pattern and where the next
 * block lies cannot be told from the last one.
 */
#include "secure/secure.h"

#include <string.h>

#include "base/diag.h"
#include "base/random.h"
#include "core/heap.h"
#include "core/huge.h"
#include "core/large.h"
#include "core/slab.h"

#define QUARANTINE_BLOCKS 256
#define QUARANTINE_BYTES ((size_t)1 << 20)
/* Bytes of a free block that hold the pattern. */
#define POISON_MAX 4096
#define POISON_BYTE 0xa5
#define POISON 0xa5a5a5a5a5a5a5a5ULL

/* What the poisoned part of a free block holds, compared with memcmp:
 * the C library's is vectorized, a loop here would not be. */
static const uint8_t poison_image[POISON_MAX] = {[0 ... POISON_MAX - 1] = POISON_BYTE};

/* Bytes of a block, of its slack after the size asked, that hold the
 * pattern: the first 4 KiB. */
static size_t poison_len(size_t size) { return size < POISON_MAX ? size : POISON_MAX; }

struct hmm_quarantine {
    size_t bytes;  /* usable bytes of the blocks held */
    unsigned head; /* the oldest block's slot */
    unsigned n;
    void *ring[QUARANTINE_BLOCKS];
};

/* A hash of the secret and x: not the free mark (secret ^ p) nor anything
 * computable from it without the secret. */
static uint64_t mix(uint64_t x)
{
    x = (hmm_secret ^ x) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

/* The end word of small or large block p whose request stops slack bytes
 * before it.  Bytes 0-3 (the first an overflow reaches): a canary; bytes
 * 4-5: the slack of a small block (less than its 16 KiB), which is where
 * its size asked is kept; bytes 6-7: a check of the slack, so that an
 * overflow of up to four bytes past a full block leaves the size asked
 * readable.  A large block's size asked is in its span's descriptor. */
static uint64_t end_word(const void *p, size_t slack)
{
    slack &= 0xffff;
    uint64_t h = mix((uintptr_t)p ^ ((uint64_t)slack << 48));
    return (h & 0xffffffffULL) | (uint64_t)slack << 32 | (h & 0xffff000000000000ULL);
}

/* Records that block p (chunk c, span s; NULL: huge) holds size bytes asked
 * for: the slack after them filled with the pattern, the end word written
 * (small, large) and the size kept where check_end finds it. */
static void seal(hmm_chunk *c, hmm_span *s, void *p, size_t room, size_t size)
{
    size_t slack = room - size;
    memset((char *)p + size, POISON_BYTE, poison_len(slack));
    if (!s) {
        c->feature = size;
        return;
    }
    if (s->kind == HMM_SPAN_LARGE)
        s->feature = size;
    *(uint64_t *)((char *)p + room) = end_word(p, slack);
}

__attribute__((noreturn, cold)) static void overflow(const char *func, const void *p,
                                                     size_t size, size_t past)
{
    hmm_misusef(func, "heap overflow: %zu byte%s past the end of a %zu-byte block at %p", past,
                past == 1 ? "" : "s", size, p);
}

/* The first byte of the n at p that is not the pattern's, or n. */
static size_t first_unlike(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] == POISON_BYTE)
        i++;
    return i;
}

/* Checks that nothing was written past the size asked of block p (chunk
 * c, span s; NULL: huge), and returns that size. */
static size_t check_end(const hmm_chunk *c, const hmm_span *s, const void *p, size_t room,
                        const char *func)
{
    uint64_t have = 0, want = 0;
    size_t size;
    if (!s) {
        size = c->feature;
    } else {
        have = *(const uint64_t *)((const char *)p + room);
        if (s->kind == HMM_SPAN_LARGE) {
            size = s->feature;
            want = end_word(p, room - size);
        } else {
            size_t slack = (size_t)(have >> 32) & 0xffff;
            want = end_word(p, slack);
            /* Bytes 4-7 wrong: the size asked is lost with them. */
            if (slack > room || (have ^ want) >> 32)
                hmm_misusef(func,
                            "heap overflow: past the end of a block of at most %zu bytes at %p",
                            room, p);
            size = room - slack;
        }
    }
    size_t slack = room - size;
    size_t n = poison_len(slack);
    const unsigned char *tail = (const unsigned char *)p + size;
    if (hmm_unlikely(memcmp(tail, poison_image, n) != 0))
        overflow(func, p, size, first_unlike(tail, n) + 1);
    if (hmm_unlikely(have != want)) {
        size_t i = 0;
        while (((have ^ want) >> (8 * i) & 0xff) == 0)
            i++;
        overflow(func, p, size, slack + i + 1);
    }
    return size;
}

/* The hooks' check, before realloc. */
static void check(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    (void)check_end(c, s, p, hmm_block_usable(c, s), func);
}

/* The hooks' size_of: the size asked, checked. */
static size_t size_of(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    return check_end(c, s, p, hmm_block_usable(c, s), func);
}

/* The hooks' resized: block p now holds size bytes asked for. */
static void resized(void *p, size_t size)
{
    hmm_chunk *c;
    hmm_span *s = hmm_locate(p, "realloc", &c);
    seal(c, s, p, hmm_block_usable(c, s), size);
}

static void poison(void *p, size_t size) { memset(p, POISON_BYTE, poison_len(size)); }

/* True when the poisoned part of p, from byte from on, still holds it. */
static bool poisoned(const void *p, size_t from, size_t size)
{
    size_t len = poison_len(size);
    if (len <= from)
        return true;
    return memcmp((const char *)p + from, poison_image, len - from) == 0;
}

/* The hooks' alloc_small: a block of the calling thread's current slab of
 * the class, checked and sealed; NULL when that slab has no free block (or
 * the thread no heap yet), for alloc to do the rest. */
static void *alloc_cur(size_t size, const char *func)
{
    if (size > HMM_SMALL_MAX - HMM_CANARY_SIZE)
        return NULL;
    hmm_span *s = hmm_tls_thread_heap->cur[hmm_size_class(size + HMM_CANARY_SIZE)];
    void *p = hmm_slab_pop(s, func);
    if (hmm_unlikely(!p))
        return NULL;
    /* Words 0 and 1 were the free list's. */
    if (!poisoned(p, sizeof(hmm_block), s->bsize - HMM_CANARY_SIZE))
        hmm_misuse(func, "write after free at", p);
    seal(hmm_chunk_of(p), s, p, s->bsize - HMM_CANARY_SIZE, size);
    return p;
}

/* The hooks' alloc: size bytes aligned to align with room for the canary;
 * a reused small block is checked for writes since it was freed, then
 * sealed.  NULL when the memory could not be had. */
static void *alloc(size_t size, size_t align, bool *zeroed, const char *func)
{
    /* A size beyond PTRDIFF_MAX fails in the layers; do not wrap it. */
    size_t want = size <= PTRDIFF_MAX ? size + HMM_CANARY_SIZE : size;
    hmm_heap *h = hmm_tls_thread_heap;
    void *p;
    unsigned cls;
    /* What the fast path does, when it can: a block of the current slab,
     * with no look at remote frees or maintenance. */
    if (align <= HMM_ALIGN && want <= HMM_SMALL_MAX &&
        hmm_slab_has_free(h->cur[cls = hmm_size_class(want)])) {
        *zeroed = false;
        p = hmm_slab_alloc(h, cls, func);
    } else {
        p = hmm_alloc_block(want, align, zeroed, func);
        if (!p)
            return NULL;
        if (hmm_chunk_map_get(p) != 1 || hmm_chunk_of(p)->magic != HMM_CHUNK_NORMAL) {
            hmm_chunk *c;
            (void)hmm_locate(p, func, &c); /* huge */
            seal(c, NULL, p, hmm_block_usable(c, NULL), size);
            return p;
        }
    }
    hmm_chunk *c = hmm_chunk_of(p);
    hmm_span *s = hmm_span_of(c, p);
    /* Words 0 and 1 were the free list's. */
    size_t room = hmm_block_usable(c, s);
    if (s->kind == HMM_SPAN_SLAB && !poisoned(p, sizeof(hmm_block), room))
        hmm_misuse(func, "write after free at", p);
    seal(c, s, p, room, size);
    return p;
}

/* Checks that nothing wrote to quarantined block p (chunk c, span s) since
 * it was freed; returns its usable size. */
static size_t check_freed(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    size_t size = hmm_block_usable(c, s);
    const hmm_block *b = p;
    if (b->link != POISON || b->key != hmm_free_key(p) || !poisoned(p, sizeof(hmm_block), size))
        hmm_misuse(func, "write after free at", p);
    return size;
}

/* Frees p for real after checking it; returns its usable size. */
static size_t release(void *p, const char *func)
{
    hmm_chunk *c = hmm_chunk_of(p);
    hmm_span *s = hmm_span_of(c, p);
    size_t size = check_freed(c, s, p, func);
    hmm_free_block(c, s, p, func);
    return size;
}

static void evict_oldest(struct hmm_quarantine *q, const char *func)
{
    void *p = q->ring[q->head];
    q->head = (q->head + 1) % QUARANTINE_BLOCKS;
    q->n--;
    q->bytes -= release(p, func);
}

/* h's quarantine, made on first use from one of h's own pages; NULL when
 * out of memory (blocks are then freed at once). */
static struct hmm_quarantine *quarantine_of(hmm_heap *h)
{
    if (hmm_unlikely(!h->feature)) {
        bool zeroed;
        size_t np = hmm_align_up(sizeof(struct hmm_quarantine), HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
        struct hmm_quarantine *q = hmm_large_alloc(h, np, 1, &zeroed);
        if (q)
            memset(q, 0, sizeof *q);
        h->feature = q;
    }
    return h->feature;
}

/* The hooks' dispose, for a small or large block: checks its canary, poisons
 * it, and puts it in the thread's quarantine. */
static void quarantine(hmm_chunk *c, hmm_span *s, void *p, const char *func)
{
    size_t size = hmm_block_usable(c, s);
    check_end(c, s, p, size, func);
    if (!s) {
        hmm_huge_free(c); /* its pages are unmapped or cached untouched */
        return;
    }
    poison(p, size);
    ((hmm_block *)p)->key = hmm_free_key(p);
    hmm_heap *h = hmm_tls_thread_heap;
    if (hmm_unlikely(h == &hmm_heap_empty))
        h = hmm_heap_get();
    struct hmm_quarantine *q = h ? quarantine_of(h) : NULL;
    if (!q || size > QUARANTINE_BYTES) {
        release(p, func);
        return;
    }
    while (q->n == QUARANTINE_BLOCKS || q->bytes + size > QUARANTINE_BYTES)
        evict_oldest(q, func);
    q->ring[(q->head + q->n) % QUARANTINE_BLOCKS] = p;
    q->n++;
    q->bytes += size;
}

/* The hooks' thread_exit: frees every block in h's quarantine. */
static void flush(hmm_heap *h)
{
    struct hmm_quarantine *q = h->feature;
    while (q && q->n)
        evict_oldest(q, "free");
}

/* The hooks' carve: the blocks hmm_slab_carve threads, poisoned and
 * threaded again in random order. */
static void carve_shuffled(hmm_span *s)
{
    size_t from = s->carved;
    hmm_block *rest = s->free;
    hmm_slab_carve(s);
    size_t n = s->carved - from;
    char *first = hmm_span_addr(s) + from * s->bsize;
    uint16_t order[HMM_PAGE_SIZE / HMM_ALIGN];
    for (size_t i = 0; i < n; i++) {
        size_t j = hmm_random() % (i + 1);
        order[i] = order[j];
        order[j] = (uint16_t)i;
    }
    for (size_t i = 0; i < n; i++) {
        hmm_block *b = (hmm_block *)(first + order[i] * s->bsize);
        poison(b, s->bsize - HMM_CANARY_SIZE);
        hmm_block_mark_free(b, hmm_free_key(b), rest);
        rest = b;
    }
    s->free = rest;
}

static bool wired;

/* The blocks still in the exiting thread's quarantine (the main thread's:
 * others flushed theirs when they ended) are checked too, so that a write
 * after free late in a program is not missed; they are left in place, as
 * later destructors may still free. */
__attribute__((destructor)) static void check_at_exit(void)
{
    struct hmm_quarantine *q = wired ? hmm_tls_thread_heap->feature : NULL;
    for (unsigned i = 0; q && i < q->n; i++) {
        void *p = q->ring[(q->head + i) % QUARANTINE_BLOCKS];
        hmm_chunk *c = hmm_chunk_of(p);
        (void)check_freed(c, hmm_span_of(c, p), p, "exit");
    }
}

void hmm_secure_wire(hmm_hook_table *t)
{
    wired = true;
    t->tail = HMM_CANARY_SIZE;
    t->every_call = true;
    t->alloc = alloc;
    t->dispose = quarantine;
    t->check = check;
    t->size_of = size_of;
    t->resized = resized;
    t->carve = carve_shuffled;
    t->thread_exit = flush;
    t->alloc_small = alloc_cur;
    t->free_owned = true;
}
