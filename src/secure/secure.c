/*
 * secure.c - secure mode: the canaries, the poison of free blocks and its
 * checks, the per-thread quarantine, and the thread's random numbers.
 *
 * A small or large block ends with an 8-byte canary derived from the
 * secret and the block's address; the usable size stops before it, so a
 * write past the end is caught when the block is freed or reallocated.  A
 * freed block is filled with a pattern (its first 4 KiB: this bounds the
 * cost for large blocks), marked free (so a second free is still a double
 * free), and waits in the freeing thread's quarantine, a ring of at most
 * 256 blocks and 1 MiB, before it is freed for real.  When it leaves the
 * quarantine the pattern is checked, and again (all but the two words the
 * slab free list uses) when a slab hands the block out.  Slab pages are
 * poisoned when carved, so every free small block holds the pattern.
 */
#include "secure/secure.h"

#include <string.h>

#include "base/diag.h"
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

struct hmm_quarantine {
    size_t bytes;  /* usable bytes of the blocks held */
    unsigned head; /* the oldest block's slot */
    unsigned n;
    void *ring[QUARANTINE_BLOCKS];
};

static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

uint64_t hmm_secure_random(void)
{
    /* xorshift64*, seeded per thread from the secret and the thread's own
     * TLS address. */
    uint64_t x = rng;
    if (hmm_unlikely(x == 0))
        x = (hmm_secret ^ (uintptr_t)&rng) | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Not the free mark (secret ^ p) nor anything computable from it without
 * the secret: a 16-byte block's canary shares the mark's word. */
static uint64_t canary_of(const void *p)
{
    uint64_t x = (hmm_secret ^ (uintptr_t)p) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

/* The canary of block p, of usable size size, is right after its end. */
static void seal(void *p, size_t size) { *(uint64_t *)((char *)p + size) = canary_of(p); }

static void check_canary(const void *p, size_t size, const char *func)
{
    if (*(const uint64_t *)((const char *)p + size) != canary_of(p))
        hmm_misuse(func, "heap overflow at", p);
}

void hmm_secure_seal(const hmm_chunk *c, const hmm_span *s, void *p)
{
    seal(p, hmm_block_usable(c, s));
}

void hmm_secure_check(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    if (s)
        check_canary(p, hmm_block_usable(c, s), func);
}

/* hmm_block_usable for a small or large block (s not NULL) in secure
 * mode, inline: it is on every call's path here. */
static size_t usable_of(const hmm_span *s)
{
    size_t size = s->kind == HMM_SPAN_SLAB ? s->bsize : (size_t)s->npages << HMM_PAGE_SHIFT;
    return size - HMM_CANARY_SIZE;
}

static size_t poison_len(size_t size) { return size < POISON_MAX ? size : POISON_MAX; }

void hmm_secure_poison(void *p, size_t size) { memset(p, POISON_BYTE, poison_len(size)); }

/* True when the poisoned part of p, from byte from on, still holds it. */
static bool poisoned(const void *p, size_t from, size_t size)
{
    size_t len = poison_len(size);
    if (len <= from)
        return true;
    return memcmp((const char *)p + from, poison_image, len - from) == 0;
}

void *hmm_secure_alloc_cur(size_t size, const char *func)
{
    hmm_span *s = hmm_tls_thread_heap->cur[hmm_size_class(size + HMM_CANARY_SIZE)];
    void *p = hmm_slab_pop(s, func);
    if (hmm_unlikely(!p))
        return NULL;
    size_t usable = s->bsize - HMM_CANARY_SIZE;
    /* Words 0 and 1 were the free list's. */
    if (!poisoned(p, sizeof(hmm_block), usable))
        hmm_misuse(func, "write after free at", p);
    seal(p, usable);
    return p;
}

void *hmm_secure_alloc(size_t size, size_t align, bool *zeroed, const char *func)
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
        if (!p || hmm_chunk_map_get(p) != 1 || hmm_chunk_of(p)->magic != HMM_CHUNK_NORMAL)
            return p; /* huge: no canary */
    }
    hmm_chunk *c = hmm_chunk_of(p);
    hmm_span *s = hmm_span_of(c, p);
    size_t usable = usable_of(s);
    /* Words 0 and 1 were the free list's. */
    if (s->kind == HMM_SPAN_SLAB && !poisoned(p, sizeof(hmm_block), usable))
        hmm_misuse(func, "write after free at", p);
    seal(p, usable);
    return p;
}

/* Frees p for real after checking that nothing wrote to it while it was
 * quarantined; returns its usable size. */
static size_t release(void *p, const char *func)
{
    hmm_chunk *c = hmm_chunk_of(p);
    hmm_span *s = hmm_span_of(c, p);
    size_t size = usable_of(s);
    const hmm_block *b = p;
    if (b->link != POISON || b->key != hmm_free_key(p) || !poisoned(p, sizeof(hmm_block), size))
        hmm_misuse(func, "write after free at", p);
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
    if (hmm_unlikely(!h->quarantine)) {
        bool zeroed;
        size_t np = hmm_align_up(sizeof(struct hmm_quarantine), HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
        struct hmm_quarantine *q = hmm_large_alloc(h, np, 1, &zeroed);
        if (q)
            memset(q, 0, sizeof *q);
        h->quarantine = q;
    }
    return h->quarantine;
}

void hmm_secure_free(hmm_chunk *c, hmm_span *s, void *p, const char *func)
{
    (void)c;
    size_t size = usable_of(s);
    check_canary(p, size, func);
    hmm_secure_poison(p, size);
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

void hmm_secure_flush(hmm_heap *h)
{
    struct hmm_quarantine *q = h->quarantine;
    while (q && q->n)
        evict_oldest(q, "free");
}
