/*
 * heap.c - thread heaps: their creation, adoption and abandonment, the
 * slow paths of malloc and free (slab refill, remote frees, large blocks),
 * realloc, aligned allocation, and the fork handlers.
 */
#include "heap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "diag.h"
#include "huge.h"
#include "options.h"
#include "os.h"
#include "span.h"
#include "stats.h"

static hmm_span span_empty;
hmm_heap hmm_heap_empty = {.cur = {[0 ... HMM_NCLASS - 1] = &span_empty}};
__thread hmm_heap *hmm_tls_heap __attribute__((tls_model("initial-exec"))) = &hmm_heap_empty;
uintptr_t hmm_secret;

/* Blocks a thread batches for another heap before sending them. */
#define OUTBOX_MAX 32

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static bool init_done;
static bool atfork_registered;
static pthread_key_t exit_key;

/* The registry: every heap ever made (heaps are never unmapped, so a
 * pointer to one stays valid), and the stack of abandoned ones. */
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_list all_heaps = {&all_heaps, &all_heaps};
static hmm_heap *abandoned;
static char *heap_store, *heap_store_end;

static void thread_exit(void *arg);
static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

static bool global_init(void)
{
    if (hmm_likely(__atomic_load_n(&init_done, __ATOMIC_ACQUIRE)))
        return true;
    pthread_mutex_lock(&init_lock);
    if (!init_done) {
        hmm_options_init();
        if (pthread_key_create(&exit_key, thread_exit) != 0) {
            pthread_mutex_unlock(&init_lock);
            return false;
        }
        hmm_secret = (uintptr_t)hmm_os_random();
        __atomic_store_n(&init_done, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&init_lock);
    /* Outside the lock: registering may itself call malloc. */
    if (!__atomic_exchange_n(&atfork_registered, true, __ATOMIC_ACQ_REL))
        pthread_atfork(fork_prepare, fork_parent, fork_child);
    return true;
}

static hmm_heap *heap_new(void)
{
    size_t sz = hmm_align_up(sizeof(hmm_heap), 64);
    if ((size_t)(heap_store_end - heap_store) < sz) {
        size_t block = 64 * 1024;
        heap_store = hmm_os_map_aligned(block, HMM_PAGE_SIZE);
        if (!heap_store)
            return NULL;
        heap_store_end = heap_store + block;
        hmm_stat_mapped((int64_t)block);
    }
    hmm_heap *h = (hmm_heap *)heap_store;
    heap_store += sz;
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        h->cur[c] = &span_empty;
        hmm_list_init(&h->partial[c]);
    }
    for (unsigned b = 0; b < HMM_NBINS; b++)
        hmm_list_init(&h->bins[b]);
    hmm_list_init(&h->chunks);
    hmm_list_push_back(&all_heaps, &h->all);
    hmm_stat_add(&hmm_gstats.heaps, 1);
    return h;
}

/* The calling thread's heap, adopting or creating one on its first call. */
static hmm_noinline hmm_heap *heap_get(void)
{
    hmm_heap *h = hmm_tls_heap;
    if (hmm_likely(h != &hmm_heap_empty))
        return h;
    if (!global_init())
        return NULL;
    pthread_mutex_lock(&heaps_lock);
    h = abandoned;
    if (h) {
        abandoned = h->next_abandoned;
        hmm_stat_add(&hmm_gstats.heaps_reused, 1);
        /* Wait out a thread that is draining it (see reclaim). */
        int expect = HMM_HEAP_ABANDONED;
        while (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_ACTIVE, false,
                                            __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            expect = HMM_HEAP_ABANDONED;
    } else {
        h = heap_new();
        if (h)
            h->state = HMM_HEAP_ACTIVE;
    }
    pthread_mutex_unlock(&heaps_lock);
    if (!h)
        return NULL;
    hmm_tls_heap = h;
    /* After the TLS store: pthread_setspecific may allocate. */
    pthread_setspecific(exit_key, h);
    return h;
}

/* ---- slabs ---- */

/* Threads the next page's worth of fresh blocks onto the free list, so
 * memory is touched only as it is used. */
static void carve(hmm_span *s)
{
    size_t bsize = s->bsize;
    size_t n = s->count - s->carved;
    size_t batch = bsize >= HMM_PAGE_SIZE ? 1 : HMM_PAGE_SIZE / bsize;
    if (n > batch)
        n = batch;
    char *first = hmm_span_addr(s) + (size_t)s->carved * bsize;
    char *p = first;
    for (size_t i = 1; i < n; i++, p += bsize) {
        ((hmm_block *)p)->next = (hmm_block *)(p + bsize);
        ((hmm_block *)p)->key = hmm_free_key(p);
    }
    ((hmm_block *)p)->next = s->free;
    ((hmm_block *)p)->key = hmm_free_key(p);
    s->free = (hmm_block *)first;
    s->carved = (uint16_t)(s->carved + n);
    s->carved_end = (uint32_t)(s->carved * bsize);
}

static hmm_span *slab_new(hmm_heap *h, unsigned cls)
{
    const hmm_class_info *ci = &hmm_classes[cls];
    bool zeroed;
    hmm_span *s = hmm_span_alloc(h, ci->pages, 1, &zeroed);
    if (!s)
        return NULL;
    s->kind = HMM_SPAN_SLAB;
    s->cls = (uint8_t)cls;
    s->bsize = ci->size;
    s->magic = UINT64_MAX / ci->size + 1;
    s->carved_end = 0;
    s->count = ci->count;
    s->used = 0;
    s->carved = 0;
    s->free = NULL;
    s->flags = 0;
    for (size_t j = 1; j < ci->pages; j++)
        *hmm_back(&s[j]) = (uint16_t)j;
    h->slabs++;
    return s;
}

static void slab_release(hmm_heap *h, hmm_span *s)
{
    for (size_t j = 1; j + 1 < s->npages; j++)
        *hmm_back(&s[j]) = 0;
    h->slabs--;
    hmm_span_free(h, s);
}

void hmm_slab_after_free(hmm_heap *h, hmm_span *s)
{
    if (s == h->cur[s->cls])
        return;
    if (s->used == 0) {
        if (s->flags & HMM_SPAN_LISTED)
            hmm_list_remove(&s->link);
        slab_release(h, s);
    } else if (!(s->flags & HMM_SPAN_LISTED) && (s->free || s->carved < s->count)) {
        hmm_list_push_back(&h->partial[s->cls], &s->link);
        s->flags |= HMM_SPAN_LISTED;
    }
}

/* ---- freeing ---- */

static void large_free(hmm_heap *h, hmm_span *s)
{
    h->large_blocks--;
    hmm_span_free(h, s);
}

/* Frees a block of a chunk h owns; its free mark may already be set. */
static void free_local(hmm_heap *h, void *p)
{
    hmm_span *s = hmm_span_of(hmm_chunk_of(p), p);
    if (s->kind == HMM_SPAN_SLAB) {
        hmm_block *b = p;
        b->next = s->free;
        b->key = hmm_free_key(p);
        s->free = b;
        s->used--;
        hmm_slab_after_free(h, s);
    } else {
        large_free(h, s);
    }
}

static void drain_remote(hmm_heap *h)
{
    hmm_block *b = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
    while (b) {
        hmm_block *next = b->next;
        free_local(h, b);
        b = next;
    }
}

/* Frees what other threads sent to an abandoned heap and purges its idle
 * pages, so its memory does not wait for a new thread to adopt it.  The
 * state word is the heap's lock: whoever moves it from ABANDONED owns the
 * heap until it moves it back. */
static void reclaim(hmm_heap *h)
{
    int expect = HMM_HEAP_ABANDONED;
    if (!__atomic_compare_exchange_n(&h->state, &expect, HMM_HEAP_DRAINING, false, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED))
        return;
    drain_remote(h);
    hmm_span_maybe_purge(h);
    __atomic_store_n(&h->state, HMM_HEAP_ABANDONED, __ATOMIC_RELEASE);
}

void hmm_heap_reclaim_abandoned(void)
{
    /* Only a try: a purge pass must never wait for thread creation. */
    if (pthread_mutex_trylock(&heaps_lock) != 0)
        return;
    for (hmm_heap *h = abandoned; h; h = h->next_abandoned)
        reclaim(h);
    pthread_mutex_unlock(&heaps_lock);
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
        reclaim(owner);
}

/* Sends the batch of blocks h freed for another heap. */
static void outbox_flush(hmm_heap *h)
{
    if (!h->out_head)
        return;
    remote_push(h->out_heap, h->out_head, h->out_tail);
    h->out_head = h->out_tail = NULL;
    h->out_n = 0;
}

/* Frees a block another heap owns: small ones are batched (at most
 * OUTBOX_MAX per thread, so little memory waits), others sent at once. */
static void free_remote(hmm_heap *h, hmm_chunk *c, hmm_span *s, hmm_block *b)
{
    b->key = hmm_free_key(b);
    if (s->kind != HMM_SPAN_SLAB || (h == &hmm_heap_empty && !(h = heap_get()))) {
        remote_push(c->heap, b, b);
        return;
    }
    h->remote_frees++;
    if (h->out_heap != c->heap) {
        outbox_flush(h);
        h->out_heap = c->heap;
    }
    b->next = h->out_head;
    h->out_head = b;
    if (!h->out_tail)
        h->out_tail = b;
    if (++h->out_n >= OUTBOX_MAX)
        outbox_flush(h);
}

/* The block p points to, checked: its chunk (*cp) and its span, or NULL
 * for a huge block.  A pointer libhmm did not hand out, or one already
 * freed, is reported as func's misuse. */
static hmm_span *locate(const void *p, const char *func, hmm_chunk **cp)
{
    unsigned m = hmm_chunk_map_get(p);
    if (hmm_unlikely(m == 0))
        hmm_misuse(func, hmm_huge_cached(p) ? "double free" : "invalid pointer", p);
    hmm_chunk *c = hmm_chunk_of(p);
    if (m == 2)
        c = (hmm_chunk *)((char *)c - HMM_CHUNK_SIZE);
    *cp = c;
    if (c->magic != HMM_CHUNK_NORMAL) {
        if (c->magic == HMM_CHUNK_HUGE && (const char *)p == (char *)c + c->offset)
            return NULL;
        hmm_misuse(func, "invalid pointer", p);
    }
    size_t off;
    hmm_span *s = hmm_span_of_off(c, p, &off);
    switch (s->kind) {
    case HMM_SPAN_SLAB:
        if (!hmm_slab_block_ok(s, off))
            hmm_misuse(func, "invalid pointer", p);
        break;
    case HMM_SPAN_LARGE:
        if (off != 0)
            hmm_misuse(func, "invalid pointer", p);
        break;
    case HMM_SPAN_FREE:
        hmm_misuse(func, off == 0 ? "double free" : "invalid pointer", p);
    default:
        hmm_misuse(func, "invalid pointer", p);
    }
    if (((const hmm_block *)p)->key == hmm_free_key(p))
        hmm_misuse(func, "double free", p);
    return s;
}

void hmm_free_slow(void *p, const char *func)
{
    if (!p)
        return;
    hmm_chunk *c;
    hmm_span *s = locate(p, func, &c);
    if (!s) {
        hmm_huge_free(c);
        return;
    }
    hmm_heap *h = hmm_tls_heap;
    if (c->heap == h) {
        free_local(h, p);
        return;
    }
    free_remote(h, c, s, p);
}

/* ---- allocating ---- */

/* What every allocating slow path does first: send this thread's batch of
 * frees for other heaps and take back the blocks others freed for it. */
static void catch_up(hmm_heap *h)
{
    outbox_flush(h);
    if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED))
        drain_remote(h);
}

static void *small_alloc(hmm_heap *h, unsigned cls)
{
    catch_up(h);
    hmm_span_maybe_purge(h);
    hmm_span *s = h->cur[cls];
    if (!s->free) {
        if (s != &span_empty && s->carved < s->count) {
            carve(s);
        } else {
            /* The current slab is full: it leaves the heap's view until a
             * free makes it partial again. */
            hmm_list *l = hmm_list_first(&h->partial[cls]);
            if (l) {
                hmm_list_remove(l);
                s = hmm_container_of(l, hmm_span, link);
                s->flags &= (uint8_t)~HMM_SPAN_LISTED;
            } else {
                s = slab_new(h, cls);
                if (!s)
                    return NULL;
            }
            if (!s->free)
                carve(s);
            h->cur[cls] = s;
        }
    }
    hmm_block *b = s->free;
    s->free = b->next;
    s->used++;
    b->key = 0;
    return b;
}

static void *large_alloc(hmm_heap *h, size_t np, size_t align_pages, bool *zeroed)
{
    catch_up(h);
    hmm_span *s = hmm_span_alloc(h, np, align_pages, zeroed);
    if (!s)
        return NULL;
    s->kind = HMM_SPAN_LARGE;
    h->large_blocks++;
    void *p = hmm_span_addr(s);
    if (!*zeroed)
        ((hmm_block *)p)->key = 0;
    return p;
}

/* Allocates size bytes aligned to align; *zeroed tells whether they are
 * known to be zero.  Sets errno on failure. */
static void *alloc_any(size_t size, size_t align, bool *zeroed)
{
    *zeroed = false;
    void *p = NULL;
    if (size > PTRDIFF_MAX)
        goto fail;
    if (size <= HMM_SMALL_MAX && align <= HMM_PAGE_SIZE) {
        unsigned cls =
            align <= HMM_ALIGN ? hmm_size_class(size) : hmm_size_class_aligned(size, align);
        if (cls < HMM_NCLASS) {
            hmm_heap *h = heap_get();
            p = h ? small_alloc(h, cls) : NULL;
            goto done;
        }
    }
    size_t align_pages = align <= HMM_PAGE_SIZE ? 1 : align >> HMM_PAGE_SHIFT;
    size_t np = hmm_align_up(size ? size : 1, HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
    if (np <= (HMM_LARGE_MAX >> HMM_PAGE_SHIFT) && np + align_pages - 1 <= HMM_USABLE_PAGES) {
        hmm_heap *h = heap_get();
        p = h ? large_alloc(h, np, align_pages, zeroed) : NULL;
        goto done;
    }
    p = global_init() ? hmm_huge_alloc(size, align, zeroed) : NULL;
done:
    if (p)
        return p;
fail:
    errno = ENOMEM;
    return NULL;
}

void *hmm_alloc_slow(size_t size)
{
    bool zeroed;
    return alloc_any(size, HMM_ALIGN, &zeroed);
}

void *hmm_alloc_aligned(size_t size, size_t align)
{
    bool zeroed;
    if (align <= HMM_ALIGN)
        return hmm_alloc(size);
    return alloc_any(size, align, &zeroed);
}

void *hmm_calloc(size_t nmemb, size_t size)
{
    if (__builtin_mul_overflow(nmemb, size, &size)) {
        errno = ENOMEM;
        return NULL;
    }
    bool zeroed;
    void *p = size <= HMM_SMALL_MAX ? hmm_alloc(size) : alloc_any(size, HMM_ALIGN, &zeroed);
    if (p && (size <= HMM_SMALL_MAX || !zeroed))
        memset(p, 0, size);
    return p;
}

/* ---- size and realloc ---- */

static size_t usable(const hmm_chunk *c, const hmm_span *s)
{
    if (!s)
        return hmm_huge_usable(c);
    if (s->kind == HMM_SPAN_SLAB)
        return s->bsize;
    return (size_t)s->npages << HMM_PAGE_SHIFT;
}

size_t hmm_usable_size(const void *p, const char *func)
{
    if (!p)
        return 0;
    hmm_chunk *c;
    hmm_span *s = locate(p, func, &c);
    return usable(c, s);
}

void *hmm_realloc(void *p, size_t size, const char *func)
{
    if (!p)
        return hmm_alloc(size);
    if (size == 0) {
        hmm_free(p, func);
        return NULL;
    }
    if (size > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    hmm_chunk *c;
    hmm_span *s = locate(p, func, &c);
    size_t old = usable(c, s);
    if (!s) {
        if (size > HMM_LARGE_MAX) {
            void *q = hmm_huge_realloc(c, size);
            if (q)
                return q;
        }
    } else if (s->kind == HMM_SPAN_SLAB) {
        /* Stay when the block fits and would not waste most of itself. */
        if (size <= old && size >= old / 2)
            return p;
    } else if (c->heap == hmm_tls_heap && size > HMM_SMALL_MAX && size <= HMM_LARGE_MAX) {
        size_t np = hmm_align_up(size, HMM_PAGE_SIZE) >> HMM_PAGE_SHIFT;
        hmm_heap *h = c->heap;
        if (np <= s->npages) {
            hmm_span_shrink(h, s, np);
            return p;
        }
        if (hmm_span_grow(h, s, np))
            return p;
    }
    /* A block that must move to grow is given a quarter more pages, so a
     * buffer grown by small steps is not copied at every page. */
    size_t want = size;
    if (size > old && size > HMM_SMALL_MAX && size <= HMM_LARGE_MAX) {
        want = size + size / 4;
        if (want > HMM_LARGE_MAX)
            want = HMM_LARGE_MAX;
    }
    void *q = hmm_alloc(want);
    if (!q && want != size)
        q = hmm_alloc(size);
    if (!q)
        return NULL;
    memcpy(q, p, old < size ? old : size);
    hmm_free(p, func);
    return q;
}

/* ---- thread exit and fork ---- */

static void thread_exit(void *arg)
{
    hmm_heap *h = arg;
    outbox_flush(h);
    drain_remote(h);
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        hmm_span *s = h->cur[c];
        if (s == &span_empty)
            continue;
        h->cur[c] = &span_empty;
        hmm_slab_after_free(h, s);
    }
    /* Nobody may adopt the heap for a long time: its free pages go back
     * now rather than wait there. */
    hmm_span_purge(h, true);
    pthread_mutex_lock(&heaps_lock);
    h->state = HMM_HEAP_ABANDONED;
    h->next_abandoned = abandoned;
    abandoned = h;
    pthread_mutex_unlock(&heaps_lock);
    hmm_tls_heap = &hmm_heap_empty;
}

static void fork_prepare(void)
{
    pthread_mutex_lock(&heaps_lock);
    hmm_huge_lock_all();
}

static void fork_parent(void)
{
    hmm_huge_unlock_all(false);
    pthread_mutex_unlock(&heaps_lock);
}

static void fork_child(void)
{
    hmm_huge_unlock_all(true);
    pthread_mutex_init(&heaps_lock, NULL);
    /* Threads other than this one are gone, maybe in the middle of using
     * (or draining) their heaps: that memory stays theirs, never adopted. */
    abandoned = NULL;
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next) {
        hmm_heap *h = hmm_container_of(l, hmm_heap, all);
        if (h == hmm_tls_heap)
            continue;
        if (h->state == HMM_HEAP_ABANDONED) {
            h->next_abandoned = abandoned;
            abandoned = h;
        } else {
            h->state = HMM_HEAP_DEAD;
        }
    }
}

void hmm_heap_stats(uint64_t *slabs, uint64_t *large, uint64_t *remote, uint64_t *abandoned_count)
{
    *slabs = *large = *remote = *abandoned_count = 0;
    pthread_mutex_lock(&heaps_lock);
    for (hmm_list *l = all_heaps.next; l != &all_heaps; l = l->next) {
        hmm_heap *h = hmm_container_of(l, hmm_heap, all);
        *slabs += __atomic_load_n(&h->slabs, __ATOMIC_RELAXED);
        *large += __atomic_load_n(&h->large_blocks, __ATOMIC_RELAXED);
        *remote += __atomic_load_n(&h->remote_frees, __ATOMIC_RELAXED);
        *abandoned_count += h->state == HMM_HEAP_ABANDONED;
    }
    pthread_mutex_unlock(&heaps_lock);
}

/* ---- consistency ---- */

static void check_slab(hmm_heap *h, hmm_span *s)
{
    if (s->kind != HMM_SPAN_SLAB || hmm_chunk_of(s)->heap != h)
        hmm_corrupt("slab %p: not a slab of this heap", (void *)s);
    char *base = hmm_span_addr(s);
    size_t nfree = 0;
    for (hmm_block *b = s->free; b; b = b->next) {
        size_t off = (size_t)((char *)b - base);
        if ((char *)b < base || off % s->bsize || off / s->bsize >= s->carved || ++nfree > s->count)
            hmm_corrupt("slab %p: bad free block %p", (void *)s, (void *)b);
        if (b->key != hmm_free_key(b))
            hmm_corrupt("slab %p: free block %p lost its mark", (void *)s, (void *)b);
    }
    if (s->used + nfree != s->carved)
        hmm_corrupt("slab %p: %u used + %zu free != %u carved", (void *)s, s->used, nfree,
                    s->carved);
}

int hmm_check_heap(void)
{
    hmm_heap *h = hmm_tls_heap;
    if (h == &hmm_heap_empty)
        return 0;
    drain_remote(h);
    if (!hmm_list_valid(&h->chunks))
        hmm_corrupt("heap %p: chunk list broken", (void *)h);
    for (hmm_list *l = h->chunks.next; l != &h->chunks; l = l->next)
        hmm_span_check_chunk(h, hmm_container_of(l, hmm_chunk, link));
    for (unsigned b = 0; b < HMM_NBINS; b++) {
        if (!hmm_list_valid(&h->bins[b]) || hmm_list_empty(&h->bins[b]) != !(h->binmap >> b & 1))
            hmm_corrupt("heap %p: bin %u broken", (void *)h, b);
        for (hmm_list *l = h->bins[b].next; l != &h->bins[b]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            if (s->kind != HMM_SPAN_FREE || hmm_chunk_of(s)->heap != h)
                hmm_corrupt("heap %p: bin %u holds a span that is not free", (void *)h, b);
        }
    }
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        if (h->cur[c] != &span_empty)
            check_slab(h, h->cur[c]);
        if (!hmm_list_valid(&h->partial[c]))
            hmm_corrupt("heap %p: slab list %u broken", (void *)h, c);
        for (hmm_list *l = h->partial[c].next; l != &h->partial[c]; l = l->next) {
            hmm_span *s = hmm_container_of(l, hmm_span, link);
            check_slab(h, s);
            if (s->cls != c || !(s->flags & HMM_SPAN_LISTED) || (!s->free && s->carved == s->count))
                hmm_corrupt("heap %p: slab %p misfiled", (void *)h, (void *)s);
        }
    }
    return 0;
}
