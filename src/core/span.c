/*
 * span.c - first fit over page runs, made O(1) by bins segregated by length
 * and a bitmap of non-empty bins: a request looks for the first span that
 * fits in its own bin (a short scan), then takes the first span of the next
 * non-empty bin, where every span fits.  A freed span merges with free
 * neighbours at once, found through the boundary tags.
 *
 * Only a heap's owner allocates and frees its spans, but the purger thread
 * (purger.c) may purge its idle free spans, so every entry point below
 * holds the heap's span lock: one atomic exchange on paths that already
 * search bins or make system calls, none on the fast paths.
 */
#include "core/span.h"

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "core/purger.h"
#include "base/stats.h"

/* How far the scan of a request's own bin goes before moving up. */
#define BIN_SCAN 8

/* The owner takes its heap's span lock; while the purger holds it, the
 * owner asks for it back (span_want), which ends the purger's pass after
 * the span it is purging. */
static __attribute__((noinline)) void lock_contended(hmm_heap *h)
{
    __atomic_store_n(&h->span_want, 1, __ATOMIC_SEQ_CST);
    while (__atomic_exchange_n(&h->span_busy, 1, __ATOMIC_SEQ_CST) != 0)
        hmm_os_yield();
    __atomic_store_n(&h->span_want, 0, __ATOMIC_RELAXED);
}

hmm_inline void lock(hmm_heap *h)
{
    if (hmm_unlikely(__atomic_exchange_n(&h->span_busy, 1, __ATOMIC_SEQ_CST) != 0))
        lock_contended(h);
}

hmm_inline void unlock(hmm_heap *h) { __atomic_store_n(&h->span_busy, 0, __ATOMIC_RELEASE); }

hmm_inline unsigned bin_of(size_t n)
{
    if (n < 16)
        return (unsigned)n - 1;
    unsigned lg = 63 - (unsigned)__builtin_clzl(n);
    return 15 + (lg - 4) * 4 + (unsigned)((n >> (lg - 2)) & 3);
}

hmm_inline void bin_insert(hmm_heap *h, hmm_span *s)
{
    unsigned b = bin_of(s->npages);
    hmm_list_push(&h->bins[b], &s->link);
    h->binmap |= (uint64_t)1 << b;
    if (s->flags & HMM_SPAN_DIRTY)
        h->dirty_pages += s->npages;
}

hmm_inline void bin_remove(hmm_heap *h, hmm_span *s)
{
    unsigned b = bin_of(s->npages);
    hmm_list_remove(&s->link);
    if (hmm_list_empty(&h->bins[b]))
        h->binmap &= ~((uint64_t)1 << b);
    if (s->flags & HMM_SPAN_DIRTY)
        h->dirty_pages -= s->npages;
}

/* Makes s a head of n pages: it and its last page name it. */
hmm_inline void set_length(hmm_span *s, size_t n)
{
    s->npages = (uint32_t)n;
    hmm_tag_set(s, s);
    hmm_tag_set(&s[n - 1], s);
}

/* Turns a former head or tail into an interior page. */
hmm_inline void clear_tag(hmm_span *s)
{
    s->kind = HMM_SPAN_NONE;
    hmm_tag_clear(s);
}

/* Inserts [s, s+n), given back at time freed_at, as free, merging with
 * free neighbours: the span made is dirty, as the pages given back are. */
static void insert_free(hmm_heap *h, hmm_span *s, size_t n, uint32_t freed_at)
{
    hmm_chunk *c = hmm_chunk_of(s);
    c->free_pages += (uint32_t)n;
    h->used_pages -= n;
    if (n > 1)
        clear_tag(&s[n - 1]);
    hmm_span *right = s + n;
    if (hmm_span_index(right) < HMM_CHUNK_PAGES && right->kind == HMM_SPAN_FREE) {
        bin_remove(h, right);
        size_t rn = right->npages;
        if (right->freed_at > freed_at)
            freed_at = right->freed_at;
        /* right's last page stays the span's last: its descriptor is left
         * untouched (at a free chunk's end, a header page nothing else
         * dirties). */
        clear_tag(right);
        n += rn;
    }
    hmm_span *left = hmm_tag_get(s - 1);
    if (left->kind == HMM_SPAN_FREE) {
        bin_remove(h, left);
        size_t ln = left->npages;
        if (left->freed_at > freed_at)
            freed_at = left->freed_at;
        if (ln > 1)
            clear_tag(&left[ln - 1]);
        clear_tag(s);
        s = left;
        n += ln;
    }
    s->kind = HMM_SPAN_FREE;
    s->flags = HMM_SPAN_DIRTY;
    s->freed_at = freed_at;
    set_length(s, n);
    bin_insert(h, s);
}

/* Cuts the first n pages off free span s (already out of its bin); the
 * rest goes back to the bins.  Returns s, now n pages long. */
static hmm_span *take_front(hmm_heap *h, hmm_span *s, size_t n)
{
    hmm_chunk *c = hmm_chunk_of(s);
    size_t total = s->npages;
    c->free_pages -= (uint32_t)n;
    h->used_pages += n;
    if (total > n) {
        hmm_span *rest = s + n;
        size_t rn = total - n;
        rest->kind = HMM_SPAN_FREE;
        rest->flags = s->flags;
        rest->freed_at = s->freed_at;
        set_length(rest, rn);
        bin_insert(h, rest);
    }
    set_length(s, n);
    return s;
}

static bool add_chunk(hmm_heap *h)
{
    hmm_chunk *c = hmm_chunk_acquire(h, h->nchunks);
    if (!c)
        return false;
    pthread_mutex_lock(&h->lock);
    hmm_list_push(&h->chunks, &c->link);
    h->nchunks++;
    pthread_mutex_unlock(&h->lock);
    bin_insert(h, &c->pages[HMM_META_PAGES]);
    return true;
}

static hmm_span *find_fit(hmm_heap *h, size_t n)
{
    unsigned b = bin_of(n);
    unsigned scanned = 0;
    for (hmm_list *l = h->bins[b].next; l != &h->bins[b] && scanned < BIN_SCAN;
         l = l->next, scanned++) {
        hmm_span *s = hmm_container_of(l, hmm_span, link);
        if (s->npages >= n)
            return s;
    }
    uint64_t above = b + 1 < 64 ? h->binmap & ~(((uint64_t)2 << b) - 1) : 0;
    if (!above)
        return NULL;
    hmm_list *l = h->bins[__builtin_ctzll(above)].next;
    return hmm_container_of(l, hmm_span, link);
}

hmm_span *hmm_span_alloc(hmm_heap *h, size_t npages, size_t align_pages, bool *zeroed)
{
    size_t want = npages + align_pages - 1;
    if (want > HMM_USABLE_PAGES)
        return NULL;
    lock(h);
    hmm_span *s = find_fit(h, want);
    if (!s) {
        if (!add_chunk(h)) {
            unlock(h);
            return NULL;
        }
        s = find_fit(h, want);
    }
    bin_remove(h, s);
    uint8_t flags = s->flags;
    if (align_pages > 1) {
        uintptr_t addr = (uintptr_t)hmm_span_addr(s);
        size_t align = align_pages << HMM_PAGE_SHIFT;
        size_t lead = (hmm_align_up(addr, align) - addr) >> HMM_PAGE_SHIFT;
        if (lead) {
            /* The pages before the aligned start stay a free span, as
             * clean as they were: not insert_free, as they have no free
             * neighbour to merge with (s's left one is not free, free
             * spans being coalesced; the right one is the block). */
            hmm_span *body = s + lead;
            body->kind = HMM_SPAN_FREE;
            body->flags = flags;
            body->freed_at = s->freed_at;
            set_length(body, s->npages - lead);
            set_length(s, lead);
            bin_insert(h, s);
            s = body;
        }
    }
    s = take_front(h, s, npages);
    s->flags = 0;
    unlock(h);
    *zeroed = (flags & HMM_SPAN_ZEROED) != 0;
    return s;
}

static size_t purge_if_due(hmm_heap *h, uint64_t now);
static inline void purge_excess(hmm_heap *h, uint32_t now);

/* After a span op that made pages free: the purger watches a heap holding
 * enough of them, so they go back even if the owner makes no further call.
 * Only for the caller's own heap: a thread draining an abandoned heap
 * kicks once, when the drain is done (hmm_remote_reclaim). */
static void unlock_after_free(hmm_heap *h)
{
    bool watch = ((size_t)h->dirty_pages << HMM_PAGE_SHIFT) >= HMM_PURGER_MIN;
    unlock(h);
    if (watch && h == hmm_tls_thread_heap)
        hmm_purger_kick();
}

void hmm_span_free(hmm_heap *h, hmm_span *s)
{
    uint64_t now = hmm_os_now_ms();
    lock(h);
    insert_free(h, s, s->npages, (uint32_t)now);
    if (hmm_span_purge_due(h, now))
        purge_if_due(h, now);
    purge_excess(h, (uint32_t)now);
    unlock_after_free(h);
}

bool hmm_span_grow(hmm_heap *h, hmm_span *s, size_t npages)
{
    size_t n = s->npages;
    hmm_span *right = s + n;
    if (hmm_span_index(right) >= HMM_CHUNK_PAGES)
        return false;
    lock(h);
    if (right->kind != HMM_SPAN_FREE || n + right->npages < npages) {
        unlock(h);
        return false;
    }
    bin_remove(h, right);
    take_front(h, right, npages - n);
    if (n > 1)
        clear_tag(&s[n - 1]);
    clear_tag(right);
    set_length(s, npages);
    unlock(h);
    return true;
}

void hmm_span_shrink(hmm_heap *h, hmm_span *s, size_t npages)
{
    size_t n = s->npages;
    if (npages >= n)
        return;
    hmm_span *rest = s + npages;
    lock(h);
    if (n > 1)
        clear_tag(&s[n - 1]);
    set_length(s, npages);
    uint32_t now = (uint32_t)hmm_os_now_ms();
    insert_free(h, rest, n - npages, now);
    purge_excess(h, now);
    unlock_after_free(h);
}

/* Unmaps the chunk whose whole usable area is the free span s. */
static void release_chunk(hmm_heap *h, hmm_span *s)
{
    hmm_chunk *c = hmm_chunk_of(s);
    bin_remove(h, s);
    /* Out of the list under the lock, so no reader of the heap is still
     * in the chunk when it goes. */
    pthread_mutex_lock(&h->lock);
    hmm_list_remove(&c->link);
    h->nchunks--;
    pthread_mutex_unlock(&h->lock);
    hmm_chunk_release(c);
}

/* Returns free span s's memory to the kernel: unmaps its chunk when s is
 * all of it and the heap has another (or with all), else purges its
 * pages; returns the bytes given back. */
static size_t return_span(hmm_heap *h, hmm_span *s, bool all)
{
    size_t bytes = (size_t)s->npages << HMM_PAGE_SHIFT;
    /* A chunk idle as a whole goes back, but one stays with the heap so a
     * program that frees everything and starts again does not map it
     * anew. */
    if (s->npages == HMM_USABLE_PAGES && (h->nchunks > 1 || all)) {
        release_chunk(h, s);
        return bytes;
    }
    /* A span the kernel would not purge stays dirty: marked zeroed, calloc
     * would hand out its old contents. */
    if (!(s->flags & HMM_SPAN_DIRTY) || !hmm_os_purge(hmm_span_addr(s), bytes))
        return 0;
    hmm_stat_add(&hmm_gstats.purged, (int64_t)bytes);
    h->dirty_pages -= s->npages;
    s->flags = HMM_SPAN_ZEROED;
    return bytes;
}

/* The pass of hmm_span_purge, the lock held; from the purger (from_afar),
 * it ends early when the owner wants the lock. */
static size_t purge(hmm_heap *h, enum hmm_purge how, size_t keep, bool from_afar)
{
    uint64_t now = hmm_os_now_ms();
    size_t released = 0;
    for (unsigned b = 0; b < HMM_NBINS; b++) {
        for (hmm_list *l = h->bins[b].next, *next; l != &h->bins[b]; l = next) {
            if (from_afar && __atomic_load_n(&h->span_want, __ATOMIC_RELAXED))
                return released;
            next = l->next;
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            if (how == HMM_PURGE_IDLE && (uint32_t)now - s->freed_at < hmm_opt.purge_delay)
                continue;
            size_t bytes = (size_t)s->npages << HMM_PAGE_SHIFT;
            if ((s->flags & HMM_SPAN_DIRTY) && bytes <= keep) {
                keep -= bytes;
                continue;
            }
            released += return_span(h, s, how == HMM_PURGE_ALL);
        }
    }
    return released;
}

/* Dirty free pages a heap may hold: an eighth of the pages it uses, or
 * the trim threshold if more.  Beyond that they are mostly holes a heap
 * on the move left behind (blocks grown by realloc, slabs of classes a
 * workload has moved past), which the purge delay alone kept resident:
 * realloc-heavy programs peaked half again above glibc's. */
static size_t dirty_limit(const hmm_heap *h)
{
    size_t floor = hmm_opt.trim_threshold >> HMM_PAGE_SHIFT;
    size_t share = h->used_pages / 8;
    return share > floor ? share : floor;
}

/* Age classes of free spans for purge_excess: 0 for 0 ms, else 1 + the
 * base-2 logarithm of the age in ms. */
#define AGE_CLASSES 33
/* The youngest class purge_excess purges: 16 ms and older.  Younger holes
 * are the ones a program is refilling (a slab emptied and made again, a
 * block freed and allocated again): purged at any age, realloc's page
 * faults went from 7,000 to 100,000 and aligned's from 3,000 to 460,000
 * for about a megabyte less. */
#define AGE_MIN_CLASS 5

static unsigned age_class(uint32_t now, const hmm_span *s)
{
    uint32_t age = now - s->freed_at;
    return age ? 32 - (unsigned)__builtin_clz(age) : 0;
}

/* The pass of purge_excess, out of line: with its frame (the counts by
 * age class) set up first, the check made at every span free cost about
 * 34 instructions, where it needs a few. */
static __attribute__((noinline)) void purge_oldest(hmm_heap *h, uint32_t now)
{
    h->excess_after = now + (1u << (AGE_MIN_CLASS - 1));
    size_t excess = h->dirty_pages - dirty_limit(h) / 2;
    size_t pages[AGE_CLASSES] = {0};
    for (unsigned b = 0; b < HMM_NBINS; b++)
        for (hmm_list *l = h->bins[b].next; l != &h->bins[b]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            if (s->flags & HMM_SPAN_DIRTY)
                pages[age_class(now, s)] += s->npages;
        }
    unsigned oldest = AGE_CLASSES;
    for (size_t sum = 0; oldest > AGE_MIN_CLASS && sum < excess;)
        sum += pages[--oldest];
    for (unsigned b = 0; b < HMM_NBINS; b++)
        for (hmm_list *l = h->bins[b].next, *next; l != &h->bins[b]; l = next) {
            next = l->next;
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            if ((s->flags & HMM_SPAN_DIRTY) && age_class(now, s) >= oldest)
                return_span(h, s, false);
        }
}

/* Brings a heap holding more dirty free pages than dirty_limit down
 * toward half of it, purging the spans idle longest first (the holes
 * least likely to be reused), down to those idle 16 ms: a first pass
 * counts dirty pages by age class, a second purges the oldest classes.
 * A pass is followed by 16 ms without one, as younger spans may be all
 * there is (each pass walks every free span). */
static inline void purge_excess(hmm_heap *h, uint32_t now)
{
    if (hmm_unlikely(h->dirty_pages > dirty_limit(h)) && (int32_t)(now - h->excess_after) >= 0)
        purge_oldest(h, now);
}

size_t hmm_span_purge(hmm_heap *h, enum hmm_purge how, size_t keep)
{
    lock(h);
    size_t released = purge(h, how, keep, false);
    unlock(h);
    return released;
}

/* A trim another thread asked for (malloc_trim), the lock held: done at
 * once; SIZE_MAX when none was asked for. */
static size_t trim_requested(hmm_heap *h, bool from_afar)
{
    if (hmm_likely(__atomic_load_n(&h->trim_request, __ATOMIC_RELAXED) == 0))
        return SIZE_MAX;
    uint64_t pad = __atomic_exchange_n(&h->trim_request, 0, __ATOMIC_RELAXED) - 1;
    return purge(h, HMM_PURGE_FORCE, pad, from_afar);
}

/* Worth an IDLE pass: enough dirty pages, or a chunk that may go. */
/* A heap whose thread exited (drained by another, so not ACTIVE) may wait
 * long for a new one: none of its idle pages is kept for it. */
static bool worth_purging(const hmm_heap *h)
{
    return ((size_t)h->dirty_pages << HMM_PAGE_SHIFT) >= hmm_opt.trim_threshold || h->nchunks > 1 ||
           h->state != HMM_HEAP_ACTIVE;
}

static size_t purge_if_due(hmm_heap *h, uint64_t now)
{
    size_t trimmed = trim_requested(h, false);
    if (trimmed != SIZE_MAX)
        return trimmed;
    if (now < h->next_purge)
        return 0;
    h->next_purge = now + hmm_opt.purge_delay / 2 + 1;
    return worth_purging(h) ? purge(h, HMM_PURGE_IDLE, 0, false) : 0;
}

size_t hmm_span_purge_if_due(hmm_heap *h, uint64_t now)
{
    /* Most calls find nothing due, and take no lock. */
    if (!hmm_span_purge_due(h, now))
        return 0;
    lock(h);
    size_t released = purge_if_due(h, now);
    unlock(h);
    return released;
}

bool hmm_span_purge_idle_from_afar(hmm_heap *h)
{
    if (__atomic_load_n(&h->span_want, __ATOMIC_RELAXED) ||
        __atomic_exchange_n(&h->span_busy, 1, __ATOMIC_SEQ_CST) != 0)
        return true; /* busy: it makes its own passes meanwhile */
    if (trim_requested(h, true) == SIZE_MAX && worth_purging(h))
        purge(h, HMM_PURGE_IDLE, 0, true);
    bool more = ((size_t)h->dirty_pages << HMM_PAGE_SHIFT) >= HMM_PURGER_MIN;
    unlock(h);
    return more;
}

static void check_chunk(hmm_heap *h, hmm_chunk *c)
{
    if (c->magic != HMM_CHUNK_NORMAL || c->heap != h)
        hmm_corrupt("chunk %p: bad magic or owner", (void *)c);
    size_t i = HMM_META_PAGES, free_pages = 0;
    bool prev_free = false;
    while (i < HMM_CHUNK_PAGES) {
        hmm_span *s = &c->pages[i];
        size_t n = s->npages;
        if (hmm_tag_get(s) != s || n == 0 || i + n > HMM_CHUNK_PAGES)
            hmm_corrupt("chunk %p: page %zu is not a valid head", (void *)c, i);
        if (hmm_tag_get(&s[n - 1]) != s)
            hmm_corrupt("chunk %p: span at page %zu has a bad boundary tag", (void *)c, i);
        /* Pages after a head have kind NONE, the last one too (insert_free
         * leaves a merged right neighbour's last page as it is). */
        for (size_t j = 1; j < n; j++) {
            bool ok =
                s[j].kind == HMM_SPAN_NONE &&
                (j + 1 == n || hmm_tag_get(&s[j]) == (s->kind == HMM_SPAN_SLAB ? s : c->pages));
            if (!ok)
                hmm_corrupt("chunk %p: page %zu inside span %zu is mistagged", (void *)c, i + j, i);
        }
        switch (s->kind) {
        case HMM_SPAN_FREE:
            if (prev_free)
                hmm_corrupt("chunk %p: free spans at %zu not coalesced", (void *)c, i);
            if (!hmm_list_contains(&h->bins[bin_of(n)], &s->link))
                hmm_corrupt("chunk %p: free span at %zu not in its bin", (void *)c, i);
            free_pages += n;
            break;
        case HMM_SPAN_SLAB:
        case HMM_SPAN_LARGE:
            break;
        default:
            hmm_corrupt("chunk %p: page %zu has kind %u", (void *)c, i, (unsigned)s->kind);
        }
        prev_free = s->kind == HMM_SPAN_FREE;
        i += n;
    }
    if (free_pages != c->free_pages)
        hmm_corrupt("chunk %p: %zu free pages counted, %u recorded", (void *)c, free_pages,
                    c->free_pages);
}

static void check_bins(hmm_heap *h)
{
    for (unsigned b = 0; b < HMM_NBINS; b++) {
        if (!hmm_list_valid(&h->bins[b]) || hmm_list_empty(&h->bins[b]) != !(h->binmap >> b & 1))
            hmm_corrupt("heap %p: bin %u broken", (void *)h, b);
        for (hmm_list *l = h->bins[b].next; l != &h->bins[b]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            if (s->kind != HMM_SPAN_FREE || hmm_chunk_of(s)->heap != h)
                hmm_corrupt("heap %p: bin %u holds a span that is not free", (void *)h, b);
        }
    }
}

void hmm_span_check(hmm_heap *h)
{
    lock(h);
    if (!hmm_list_valid(&h->chunks))
        hmm_corrupt("heap %p: chunk list broken", (void *)h);
    size_t used = 0;
    for (hmm_list *l = h->chunks.next; l != &h->chunks; l = l->next) {
        hmm_chunk *c = hmm_container_of(l, hmm_chunk, link);
        check_chunk(h, c);
        used += HMM_USABLE_PAGES - c->free_pages;
    }
    if (used != h->used_pages)
        hmm_corrupt("heap %p: %zu pages used, %zu recorded", (void *)h, used, h->used_pages);
    check_bins(h);
    unlock(h);
}
