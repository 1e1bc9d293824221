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
#include "secure.h"

#include <string.h>

#include "diag.h"
#include "large.h"

#define QUARANTINE_BLOCKS 256
#define QUARANTINE_BYTES ((size_t)1 << 20)
/* Bytes of a free block that hold the pattern. */
#define POISON_MAX 4096
#define POISON 0xa5a5a5a5a5a5a5a5ULL

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

static uint64_t *canary_slot(const hmm_chunk *c, const hmm_span *s, const void *p)
{
    return (uint64_t *)((uintptr_t)p + hmm_block_usable(c, s));
}

void hmm_secure_seal(const hmm_chunk *c, const hmm_span *s, void *p)
{
    *canary_slot(c, s, p) = canary_of(p);
}

void hmm_secure_check(const hmm_chunk *c, const hmm_span *s, const void *p, const char *func)
{
    if (s && *canary_slot(c, s, p) != canary_of(p))
        hmm_misuse(func, "heap overflow at", p);
}

static size_t poison_words(size_t size) { return (size < POISON_MAX ? size : POISON_MAX) / 8; }

void hmm_secure_poison(void *p, size_t size)
{
    uint64_t *w = p;
    for (size_t i = 0, n = poison_words(size); i < n; i++)
        w[i] = POISON;
}

/* True when words from..end of the poisoned part of p still hold it. */
static bool poisoned(const void *p, size_t from, size_t size)
{
    const uint64_t *w = p;
    uint64_t diff = 0;
    for (size_t i = from, n = poison_words(size); i < n; i++)
        diff |= w[i] ^ POISON;
    return diff == 0;
}

void *hmm_secure_alloc(size_t size, size_t align, bool *zeroed)
{
    /* A size beyond PTRDIFF_MAX fails in the layers; do not wrap it. */
    void *p = hmm_alloc_block(size <= PTRDIFF_MAX ? size + HMM_CANARY_SIZE : size, align, zeroed);
    if (!p || hmm_chunk_map_get(p) != 1)
        return p;
    hmm_chunk *c = hmm_chunk_of(p);
    if (c->magic != HMM_CHUNK_NORMAL)
        return p; /* huge: no canary */
    hmm_span *s = hmm_span_of(c, p);
    /* Words 0 and 1 were the free list's. */
    if (s->kind == HMM_SPAN_SLAB && !poisoned(p, 2, hmm_block_usable(c, s)))
        hmm_misuse("malloc", "write after free at", p);
    hmm_secure_seal(c, s, p);
    return p;
}

/* Frees p for real after checking that nothing wrote to it while it was
 * quarantined; returns its usable size. */
static size_t release(void *p, const char *func)
{
    hmm_chunk *c = hmm_chunk_of(p);
    hmm_span *s = hmm_span_of(c, p);
    size_t size = hmm_block_usable(c, s);
    const hmm_block *b = p;
    if ((uintptr_t)b->next != POISON || b->key != hmm_free_key(p) || !poisoned(p, 2, size))
        hmm_misuse(func, "write after free at", p);
    hmm_free_block(c, s, p);
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
    hmm_secure_check(c, s, p, func);
    size_t size = hmm_block_usable(c, s);
    hmm_secure_poison(p, size);
    ((hmm_block *)p)->key = hmm_free_key(p);
    hmm_heap *h = hmm_heap_get();
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
