/*
 * slab.c - slabs: making them from spans, carving their blocks lazily,
 * the refill slow path of small allocations, the partial lists, releasing
 * empty slabs, and their consistency check.
 */
#include "core/slab.h"

#include "base/diag.h"
#include "core/span.h"

hmm_span hmm_span_empty = {.free = (hmm_block *)&hmm_span_empty};

/* Lets the free fast path take s's blocks (s is current or partial); see
 * hmm_span.magic, set once per slab (slab_new): a full slab listed again
 * pays no division. */
static void arm(hmm_span *s) { s->limit = s->carved * (s->magic * s->bsize); }

/* Sends every free of s's blocks to the slow path. */
static void disarm(hmm_span *s) { s->limit = 0; }

void hmm_slab_carve(hmm_span *s)
{
    size_t bsize = s->bsize;
    size_t n = s->count - s->carved;
    size_t batch = bsize >= HMM_PAGE_SIZE ? 1 : HMM_PAGE_SIZE / bsize;
    if (n > batch)
        n = batch;
    char *first = hmm_span_addr(s) + (size_t)s->carved * bsize;
    /* Last block first, so each one's successor is already known; the
     * list head and the secret stay in registers (hmm_slab_push would
     * reload them after each store into a block). */
    hmm_block *next = s->free;
    uintptr_t secret = hmm_secret;
    for (char *b = first + n * bsize; b != first;) {
        b -= bsize;
        hmm_block_mark_free((hmm_block *)b, secret ^ (uintptr_t)b, next);
        next = (hmm_block *)b;
    }
    s->free = next;
    s->carved = (uint16_t)(s->carved + n);
    s->limit = s->carved * (s->magic * bsize);
}

/* Carves s's next page, as the hooks' carve does when there is one. */
static void refill(hmm_span *s)
{
    if (hmm_unlikely(hmm_hooks.carve != NULL))
        hmm_hooks.carve(s);
    else
        hmm_slab_carve(s);
}

/* Makes s the current slab of class cls of heap h, in cur and in fast. */
static void set_cur(hmm_heap *h, unsigned cls, hmm_span *s)
{
    h->cur[cls] = s;
    size_t size = hmm_classes[cls].size;
    if (size > HMM_TABLE_MAX)
        return;
    /* fast[i] serves sizes up to 16 * i: class cls's entries run from the
     * one above the previous class's size (a multiple of 16) to its own,
     * found without reading hmm_class_table at every change of slabs. */
    size_t i = cls ? (hmm_classes[cls - 1].size >> 4) + 1 : 0;
    do
        h->fast[i] = s;
    while (++i <= size >> 4);
}

static void slab_release(hmm_heap *h, hmm_span *s)
{
    disarm(s);
    for (size_t j = 1; j + 1 < s->npages; j++)
        hmm_tag_clear(&s[j]);
    hmm_span_free(h, s);
}

/* Pages of emptied slabs a heap keeps as spares.  A loop that allocates a
 * batch and frees it all (smallloop's batches: about 70 pages of slabs a
 * round) empties most of its slabs every round; released, each had to be
 * cut from the span allocator again, its page tags set and every block
 * threaded anew a page at a time, through the slow path once a page.  A
 * spare comes back with its blocks threaded, warm, the last freed first.
 * Their pages would have stayed resident as dirty free spans anyway, and
 * go back to the spans before a new slab of another class or a large
 * block takes fresh pages (kept from them, smallloop's peak RSS grew by
 * the whole budget, aligned's by 0.7 MiB); the budget bounds what an idle
 * heap keeps until its next purge check (hmm_heap_maintain). */
#define HMM_SPARE_PAGES 64

/* Keeps emptied slab s (off the heap's lists, not current) as a spare of
 * its class, or releases it when the budget is spent. */
static void keep_or_release(hmm_heap *h, hmm_span *s)
{
    if (h->spare_pages + s->npages > HMM_SPARE_PAGES) {
        slab_release(h, s);
        return;
    }
    hmm_list_push(&h->spare[s->cls], &s->link);
    s->flags |= HMM_SPAN_LISTED;
    h->spare_pages += s->npages;
    arm(s);
}

/* Releases h's spares, the oldest of a class first, until pages pages
 * went back or none is left. */
static void release_spares(hmm_heap *h, size_t pages)
{
    for (unsigned c = 0; pages && h->spare_pages && c < HMM_NCLASS; c++)
        while (pages && h->spare[c].prev != &h->spare[c]) {
            hmm_span *s = hmm_container_of(h->spare[c].prev, hmm_span, link);
            hmm_list_remove(&s->link);
            h->spare_pages -= s->npages;
            pages = pages > s->npages ? pages - s->npages : 0;
            slab_release(h, s);
        }
}

void hmm_slab_release_spares_slow(hmm_heap *h) { release_spares(h, SIZE_MAX); }

static hmm_span *slab_new(hmm_heap *h, unsigned cls)
{
    /* h->cur[cls] is still the slab this one replaces (hmm_span_empty,
     * of 0 pages, when there is none). */
    hmm_class_info g = hmm_slab_geometry(cls, h->cur[cls]->npages);
    const hmm_class_info *ci = &g;
    /* Spares of other classes go first: their pages, warm, may be the
     * new slab's, where fresh pages would add to the resident set. */
    release_spares(h, ci->pages);
    bool zeroed;
    hmm_span *s = hmm_span_alloc(h, ci->pages, 1, &zeroed);
    if (!s)
        return NULL;
    s->kind = HMM_SPAN_SLAB;
    s->cls = (uint8_t)cls;
    s->bsize = (uint16_t)ci->size;
    s->count = ci->count;
    s->used = 0;
    s->carved = 0;
    s->free = hmm_slab_end(s);
    s->flags = 0;
    s->magic = UINT64_MAX / s->bsize + 2;
    s->magic_base = s->magic * (uintptr_t)hmm_span_addr(s);
    arm(s);
    for (size_t j = 1; j < ci->pages; j++)
        hmm_tag_set(&s[j], s);
    return s;
}

_Static_assert(HMM_SMALL_MAX <= UINT16_MAX, "a block size fits hmm_span.bsize");

/* Also called on a slab that just stopped being current: a full one
 * leaves the heap's view (its limit 0 sends the next free of one of its
 * blocks to hmm_free_unarmed, which comes back here to list it). */
void hmm_slab_after_free(hmm_heap *h, hmm_span *s)
{
    if (s == h->cur[s->cls])
        return;
    if (s->used == 0) {
        if (s->flags & HMM_SPAN_LISTED)
            hmm_list_remove(&s->link);
        keep_or_release(h, s);
    } else if (!(s->flags & HMM_SPAN_LISTED)) {
        if (hmm_slab_has_free(s) || s->carved < s->count) {
            hmm_list_push_back(&h->partial[s->cls], &s->link);
            s->flags |= HMM_SPAN_LISTED;
            arm(s);
        } else {
            disarm(s);
        }
    }
}

void hmm_slab_emptied(hmm_span *s) { hmm_slab_after_free(hmm_chunk_of(s)->heap, s); }

void hmm_slab_refill(hmm_span *s) { refill(s); }

bool hmm_slab_change(hmm_heap *h, unsigned cls)
{
    /* The current slab is full: it leaves the heap's view until a free
     * makes it partial again.  (Keeping it armed at the back of the
     * partial list instead spared that free its trip through
     * hmm_free_unarmed, 1.2% of larson's instructions, but raised
     * smallloop's peak RSS by 3%.) */
    hmm_span *full = h->cur[cls], *s;
    hmm_list *l = hmm_list_first(&h->partial[cls]);
    if (!l && (l = hmm_list_first(&h->spare[cls])) != NULL)
        h->spare_pages -= hmm_container_of(l, hmm_span, link)->npages;
    if (l) {
        hmm_list_remove(l);
        s = hmm_container_of(l, hmm_span, link);
        s->flags &= (uint8_t)~HMM_SPAN_LISTED;
    } else {
        s = slab_new(h, cls);
        if (!s)
            return false;
    }
    if (!hmm_slab_has_free(s))
        refill(s);
    s->used += HMM_SLAB_CUR;
    set_cur(h, cls, s);
    if (full != &hmm_span_empty) {
        full->used -= HMM_SLAB_CUR;
        hmm_slab_after_free(h, full);
    }
    return true;
}

bool hmm_slab_ready(hmm_heap *h, unsigned cls)
{
    hmm_span *s = h->cur[cls];
    if (hmm_slab_has_free(s))
        return true;
    if (s->carved < s->count) {
        refill(s);
        return true;
    }
    return hmm_slab_change(h, cls);
}

void *hmm_slab_alloc(hmm_heap *h, unsigned cls, const char *func)
{
    if (!hmm_slab_ready(h, cls))
        return NULL;
    hmm_span *s = h->cur[cls];
    void *p = hmm_slab_pop(s, func);
    if (hmm_unlikely(!p))
        hmm_corrupt("slab %p: no free block after a refill", (void *)s);
    return p;
}

void hmm_slab_retire_all(hmm_heap *h)
{
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        hmm_span *s = h->cur[c];
        if (s == &hmm_span_empty)
            continue;
        set_cur(h, c, &hmm_span_empty);
        s->used -= HMM_SLAB_CUR;
        hmm_slab_after_free(h, s);
    }
}

static void check_slab(hmm_heap *h, hmm_span *s)
{
    if (s->kind != HMM_SPAN_SLAB || hmm_chunk_of(s)->heap != h)
        hmm_corrupt("slab %p: not a slab of this heap", (void *)s);
    char *base = hmm_span_addr(s);
    size_t nfree = 0;
    for (hmm_block *b = s->free; b != hmm_slab_end(s); b = hmm_link_next(b, hmm_free_key(b))) {
        size_t off = (size_t)((char *)b - base);
        if ((char *)b < base || off % s->bsize || off / s->bsize >= s->carved || ++nfree > s->count)
            hmm_corrupt("slab %p: bad free block %p", (void *)s, (void *)b);
        if (b->key != hmm_free_key(b))
            hmm_corrupt("slab %p: free block %p lost its mark", (void *)s, (void *)b);
    }
    unsigned used = s->used;
    if (s == h->cur[s->cls]) {
        if (used < HMM_SLAB_CUR)
            hmm_corrupt("slab %p: current, not counted as such", (void *)s);
        used -= HMM_SLAB_CUR;
    }
    if (used + nfree != s->carved)
        hmm_corrupt("slab %p: %u used + %zu free != %u carved", (void *)s, used, nfree, s->carved);
    if (s->magic != UINT64_MAX / s->bsize + 2 || s->magic_base != s->magic * (uintptr_t)base ||
        s->limit != s->carved * (s->magic * s->bsize))
        hmm_corrupt("slab %p: bad block-start test", (void *)s);
}

void hmm_slab_check_all(hmm_heap *h)
{
    size_t spare_pages = 0;
    for (unsigned i = 0; i < HMM_NFAST; i++)
        if (h->fast[i] != h->cur[hmm_class_table[i]])
            hmm_corrupt("heap %p: fast[%u] is not the current slab", (void *)h, i);
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        if (h->cur[c] != &hmm_span_empty)
            check_slab(h, h->cur[c]);
        if (!hmm_list_valid(&h->partial[c]))
            hmm_corrupt("heap %p: slab list %u broken", (void *)h, c);
        for (hmm_list *l = h->partial[c].next; l != &h->partial[c]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            check_slab(h, s);
            if (s->cls != c || !(s->flags & HMM_SPAN_LISTED) ||
                (!hmm_slab_has_free(s) && s->carved == s->count))
                hmm_corrupt("heap %p: slab %p misfiled", (void *)h, (void *)s);
        }
        if (!hmm_list_valid(&h->spare[c]))
            hmm_corrupt("heap %p: spare list %u broken", (void *)h, c);
        for (hmm_list *l = h->spare[c].next; l != &h->spare[c]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            check_slab(h, s);
            if (s->cls != c || !(s->flags & HMM_SPAN_LISTED) || s->used != 0)
                hmm_corrupt("heap %p: spare slab %p misfiled", (void *)h, (void *)s);
            spare_pages += s->npages;
        }
    }
    if (spare_pages != h->spare_pages || spare_pages > HMM_SPARE_PAGES)
        hmm_corrupt("heap %p: %zu pages of spare slabs, counted %zu", (void *)h, spare_pages,
                    h->spare_pages);
}
