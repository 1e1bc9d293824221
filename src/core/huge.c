/*
 * huge.c - blocks mapped one by one.  The header sits in the mapping's first
 * page, at a chunk boundary; the block follows it at `offset`, which is a
 * page, or the alignment asked for.  For alignments of a chunk or more the
 * block itself starts a chunk slot, and the map marks that slot "header one
 * slot below".
 *
 * A few freed mappings are cached for the purge delay: programs that free
 * and reallocate big buffers would otherwise pay for mmap, munmap and a
 * page fault per page every time (glibc avoids this by raising its mmap
 * threshold; a cache keeps the memory bounded instead).
 */
#include "core/huge.h"

#include <pthread.h>

#include "base/options.h"
#include "base/os.h"
#include "core/purger.h"
#include "base/stats.h"

#define CACHE_SLOTS 16
/* Most bytes the cache holds. */
#define CACHE_MAX_BYTES ((size_t)128 << 20)

/* Cached ranges are plain runs of pages, neither aligned nor headed: a
 * request is carved in place from one that holds a chunk boundary with
 * enough pages after it, or has pieces moved (page tables, not bytes) side by side into a
 * new aligned mapping.  Either way resident pages are reused, not faulted in
 * again, and what is left of a range stays cached. */
typedef struct cached_range {
    char *addr;
    size_t size;
    uint64_t at;
} cached_range;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_range cache[CACHE_SLOTS];
static size_t cache_len, cache_bytes;

/* Marks the mapping at hdr as holding a live block. */
static hmm_chunk *place(char *hdr, size_t map_size, size_t offset)
{
    hmm_chunk *c = (hmm_chunk *)hdr;
    c->magic = HMM_CHUNK_HUGE;
    c->heap = NULL;
    c->map_size = map_size;
    c->offset = offset;
    c->watched = 0;
    hmm_chunk_map_set(hdr, 1);
    if (offset >= HMM_CHUNK_SIZE)
        hmm_chunk_map_set(hdr + offset, 2);
    hmm_stat_add(&hmm_gstats.huge_blocks, 1);
    hmm_stat_add(&hmm_gstats.huge_bytes, (int64_t)(map_size - offset));
    return c;
}

static void unplace(hmm_chunk *c)
{
    if (c->offset >= HMM_CHUNK_SIZE)
        hmm_chunk_map_set((char *)c + c->offset, 0);
    hmm_chunk_map_set(c, 0);
    hmm_stat_add(&hmm_gstats.huge_blocks, -1);
    hmm_stat_add(&hmm_gstats.huge_bytes, -(int64_t)(c->map_size - c->offset));
}

static char *map_huge(size_t size, size_t align)
{
    char *p = hmm_os_map_aligned(size, align);
    /* A huge block is all one block: as dense as memory gets. */
    if (p && hmm_opt.hugepages != HMM_HUGEPAGES_OFF)
        hmm_os_hugepage(p, size);
    if (p)
        hmm_stat_mapped((int64_t)size);
    return p;
}

static void unmap(char *addr, size_t size)
{
    hmm_os_unmap(addr, size);
    hmm_stat_mapped(-(int64_t)size);
}

/* Removes cache entry i (cache_lock held). */
static cached_range cache_remove(size_t i)
{
    cached_range r = cache[i];
    cache_bytes -= r.size;
    cache[i] = cache[--cache_len];
    return r;
}

/* Takes up to want bytes from the front of entry i (cache_lock held). */
static cached_range cache_cut(size_t i, size_t want)
{
    cached_range r = cache[i];
    if (r.size <= want)
        return cache_remove(i);
    r.size = want;
    cache[i].addr += want;
    cache[i].size -= want;
    cache_bytes -= want;
    return r;
}

/* A mapping of need bytes, aligned to a chunk, built from cached pages;
 * NULL when the cache is empty. */
static char *cache_take(size_t need)
{
    cached_range pieces[CACHE_SLOTS];
    size_t n = 0, sum = 0;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_len; i++) {
        char *hdr = (char *)hmm_align_up((uintptr_t)cache[i].addr, HMM_CHUNK_SIZE);
        if (hdr + need <= cache[i].addr + cache[i].size) {
            /* In place: what lies before and after stays cached. */
            cached_range after = {
                hdr + need, (size_t)(cache[i].addr + cache[i].size - (hdr + need)), cache[i].at};
            cache_bytes -= cache[i].size - (size_t)(hdr - cache[i].addr);
            cache[i].size = (size_t)(hdr - cache[i].addr);
            if (cache[i].size == 0)
                cache[i] = cache[--cache_len];
            if (after.size > 0 && cache_len < CACHE_SLOTS) {
                cache[cache_len++] = after;
                cache_bytes += after.size;
                after.size = 0;
            }
            pthread_mutex_unlock(&cache_lock);
            if (after.size > 0)
                unmap(after.addr, after.size);
            return hdr;
        }
    }
    while (cache_len > 0 && sum < need) {
        size_t big = 0;
        for (size_t i = 1; i < cache_len; i++)
            if (cache[i].size > cache[big].size)
                big = i;
        pieces[n] = cache_cut(big, need - sum);
        sum += pieces[n++].size;
    }
    pthread_mutex_unlock(&cache_lock);
    if (n == 0)
        return NULL;
    char *dst = map_huge(need, HMM_CHUNK_SIZE);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (dst && hmm_os_remap_to(pieces[i].addr, pieces[i].size, pieces[i].size, dst + off)) {
            hmm_stat_mapped(-(int64_t)pieces[i].size);
            off += pieces[i].size;
        } else {
            unmap(pieces[i].addr, pieces[i].size);
        }
    }
    return dst;
}

size_t hmm_huge_trim(uint64_t now, bool force)
{
    size_t released = 0;
    for (;;) {
        cached_range victim = {NULL, 0, 0};
        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < cache_len; i++) {
            if (force || now - cache[i].at >= hmm_opt.purge_delay) {
                victim = cache_remove(i);
                break;
            }
        }
        pthread_mutex_unlock(&cache_lock);
        if (!victim.addr)
            return released;
        unmap(victim.addr, victim.size);
        released += victim.size;
    }
}

void *hmm_huge_alloc(size_t size, size_t align, bool *zeroed)
{
    if (size > PTRDIFF_MAX - 2 * HMM_CHUNK_SIZE || align > ((size_t)1 << 40))
        return NULL;
    size = hmm_align_up(size, HMM_PAGE_SIZE);
    *zeroed = false;
    if (align <= HMM_PAGE_SIZE) {
        /* Whole chunks: freed blocks then come back as chunk-aligned runs
         * that later requests carve in place, without mremap.  Pages past
         * the request that were never touched cost no memory. */
        size = hmm_align_up(HMM_PAGE_SIZE + size, HMM_CHUNK_SIZE) - HMM_PAGE_SIZE;
        char *hdr = cache_take(HMM_PAGE_SIZE + size);
        if (hdr)
            return (char *)place(hdr, HMM_PAGE_SIZE + size, HMM_PAGE_SIZE) + HMM_PAGE_SIZE;
    }
    *zeroed = true;
    if (align < HMM_CHUNK_SIZE) {
        size_t offset = align > HMM_PAGE_SIZE ? align : HMM_PAGE_SIZE;
        char *hdr = map_huge(offset + size, HMM_CHUNK_SIZE);
        if (!hdr)
            return NULL;
        return hdr + place(hdr, offset + size, offset)->offset;
    }
    /* Map align + size aligned to align; the block is at start + align and
     * its header a chunk below; the rest before the header is returned. */
    char *start = map_huge(align + size, align);
    if (!start)
        return NULL;
    char *hdr = start + align - HMM_CHUNK_SIZE;
    if (hdr > start)
        unmap(start, (size_t)(hdr - start));
    place(hdr, HMM_CHUNK_SIZE + size, HMM_CHUNK_SIZE);
    return hdr + HMM_CHUNK_SIZE;
}

void hmm_huge_free(hmm_chunk *c)
{
    unplace(c);
    char *addr = (char *)c;
    size_t size = c->map_size;
    uint64_t now = hmm_os_now_ms();
    if (size > CACHE_MAX_BYTES || hmm_opt.purge_delay == 0) {
        unmap(addr, size);
        return;
    }
    /* The oldest entries make room. */
    cached_range evict[CACHE_SLOTS];
    size_t nevict = 0;
    pthread_mutex_lock(&cache_lock);
    while (cache_len > 0 && (cache_len == CACHE_SLOTS || cache_bytes + size > CACHE_MAX_BYTES)) {
        size_t old = 0;
        for (size_t i = 1; i < cache_len; i++)
            if (cache[i].at < cache[old].at)
                old = i;
        evict[nevict++] = cache_remove(old);
    }
    cache[cache_len++] = (cached_range){addr, size, now};
    cache_bytes += size;
    pthread_mutex_unlock(&cache_lock);
    while (nevict > 0) {
        nevict--;
        unmap(evict[nevict].addr, evict[nevict].size);
    }
    hmm_huge_trim(now, false);
    /* A cached block is at least a chunk (HMM_PURGER_MIN): the purger
     * unmaps it if no call comes to do so. */
    hmm_purger_kick();
}

void *hmm_huge_realloc(hmm_chunk *c, size_t size)
{
    if (size > PTRDIFF_MAX - 2 * HMM_CHUNK_SIZE)
        return NULL;
    size_t offset = c->offset;
    size_t new_map = offset + hmm_align_up(size, HMM_PAGE_SIZE);
    size_t old_map = c->map_size;
    if (new_map == old_map)
        return (char *)c + offset;
    if (hmm_os_remap_inplace(c, old_map, new_map)) {
        unplace(c);
        hmm_stat_mapped((int64_t)new_map - (int64_t)old_map);
        return (char *)place((char *)c, new_map, offset) + offset;
    }
    /* Move the pages, not the bytes: reserve a chunk-aligned place and let
     * the kernel remap the old pages over it.  The block keeps its offset,
     * so its alignment up to a chunk (realloc promises no more). */
    char *dst = hmm_os_map_aligned(new_map, HMM_CHUNK_SIZE);
    if (!dst)
        return NULL;
    unplace(c);
    if (!hmm_os_remap_to(c, old_map, new_map, dst)) {
        place((char *)c, old_map, offset);
        hmm_os_unmap(dst, new_map);
        return NULL;
    }
    hmm_stat_mapped((int64_t)new_map - (int64_t)old_map);
    return (char *)place(dst, new_map, offset) + offset;
}

bool hmm_huge_cached(const void *p)
{
    bool found = false;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_len && !found; i++)
        found = (const char *)p >= cache[i].addr && (const char *)p < cache[i].addr + cache[i].size;
    pthread_mutex_unlock(&cache_lock);
    return found;
}

void hmm_huge_lock_all(void) { pthread_mutex_lock(&cache_lock); }

void hmm_huge_unlock_all(bool child)
{
    if (child)
        pthread_mutex_init(&cache_lock, NULL);
    else
        pthread_mutex_unlock(&cache_lock);
}

size_t hmm_huge_cached_bytes(void)
{
    pthread_mutex_lock(&cache_lock);
    size_t n = cache_bytes;
    pthread_mutex_unlock(&cache_lock);
    return n;
}
