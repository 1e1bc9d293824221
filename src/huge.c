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
#include "huge.h"

#include <pthread.h>

#include "options.h"
#include "os.h"
#include "stats.h"

#define CACHE_SLOTS 8
/* Mappings above this are never cached. */
#define CACHE_MAX_BYTES ((size_t)256 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    hmm_chunk *c;
    uint64_t at;
} cache[CACHE_SLOTS];
static size_t cache_len;

/* Marks the mapping at hdr as holding a live block. */
static hmm_chunk *place(char *hdr, size_t map_size, size_t offset)
{
    hmm_chunk *c = (hmm_chunk *)hdr;
    c->magic = HMM_CHUNK_HUGE;
    c->heap = NULL;
    c->map_size = map_size;
    c->offset = offset;
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
    hmm_stat_add(&hmm_gstats.huge_blocks, -1);
    hmm_stat_add(&hmm_gstats.huge_bytes, -(int64_t)(c->map_size - c->offset));
}

static char *map(size_t size, size_t align)
{
    char *p = hmm_os_map_aligned(size, align);
    if (p)
        hmm_stat_mapped((int64_t)size);
    return p;
}

static void unmap(hmm_chunk *c)
{
    size_t size = c->map_size;
    hmm_chunk_map_set(c, 0);
    hmm_os_unmap(c, size);
    hmm_stat_mapped(-(int64_t)size);
}

/* A cached mapping of at least need bytes, not much more, cut to need. */
static hmm_chunk *cache_take(size_t need)
{
    hmm_chunk *c = NULL;
    pthread_mutex_lock(&cache_lock);
    size_t best = CACHE_SLOTS;
    for (size_t i = 0; i < cache_len; i++) {
        size_t sz = cache[i].c->map_size;
        if (sz >= need && sz - need <= need / 2 && (best == CACHE_SLOTS || sz < cache[best].c->map_size))
            best = i;
    }
    if (best < CACHE_SLOTS) {
        c = cache[best].c;
        cache[best] = cache[--cache_len];
    }
    pthread_mutex_unlock(&cache_lock);
    if (c && c->map_size > need && hmm_os_remap_inplace(c, c->map_size, need)) {
        hmm_stat_mapped(-(int64_t)(c->map_size - need));
        c->map_size = need;
    }
    return c;
}

void hmm_huge_trim(uint64_t now, bool force)
{
    for (;;) {
        hmm_chunk *victim = NULL;
        pthread_mutex_lock(&cache_lock);
        for (size_t i = 0; i < cache_len; i++) {
            if (force || now - cache[i].at >= hmm_opt.purge_delay) {
                victim = cache[i].c;
                cache[i] = cache[--cache_len];
                break;
            }
        }
        pthread_mutex_unlock(&cache_lock);
        if (!victim)
            return;
        unmap(victim);
    }
}

void *hmm_huge_alloc(size_t size, size_t align, bool *zeroed)
{
    if (!hmm_chunk_init() || size > PTRDIFF_MAX - 2 * HMM_CHUNK_SIZE || align > ((size_t)1 << 40))
        return NULL;
    size = hmm_align_up(size, HMM_PAGE_SIZE);
    *zeroed = false;
    if (align <= HMM_PAGE_SIZE) {
        hmm_chunk *c = cache_take(HMM_PAGE_SIZE + size);
        if (c)
            return (char *)place((char *)c, c->map_size, HMM_PAGE_SIZE) + HMM_PAGE_SIZE;
    }
    *zeroed = true;
    if (align < HMM_CHUNK_SIZE) {
        size_t offset = align > HMM_PAGE_SIZE ? align : HMM_PAGE_SIZE;
        char *hdr = map(offset + size, HMM_CHUNK_SIZE);
        if (!hdr)
            return NULL;
        return hdr + place(hdr, offset + size, offset)->offset;
    }
    /* Map align + size aligned to align; the block is at start + align and
     * its header a chunk below; the rest before the header is returned. */
    char *start = map(align + size, align);
    if (!start)
        return NULL;
    char *hdr = start + align - HMM_CHUNK_SIZE;
    if (hdr > start) {
        hmm_os_unmap(start, (size_t)(hdr - start));
        hmm_stat_mapped(-(int64_t)(hdr - start));
    }
    place(hdr, HMM_CHUNK_SIZE + size, HMM_CHUNK_SIZE);
    return hdr + HMM_CHUNK_SIZE;
}

void hmm_huge_free(hmm_chunk *c)
{
    unplace(c);
    uint64_t now = hmm_os_now_ms();
    if (c->offset == HMM_PAGE_SIZE && c->map_size <= CACHE_MAX_BYTES && hmm_opt.purge_delay > 0) {
        /* The header stays mapped and marked, so a second free of the
         * block is recognized. */
        c->magic = HMM_CHUNK_CACHED;
        hmm_chunk *evict = NULL;
        pthread_mutex_lock(&cache_lock);
        if (cache_len == CACHE_SLOTS) {
            evict = cache[0].c;
            cache[0] = cache[--cache_len];
        }
        cache[cache_len].c = c;
        cache[cache_len++].at = now;
        pthread_mutex_unlock(&cache_lock);
        if (evict)
            unmap(evict);
    } else {
        unmap(c);
    }
    hmm_huge_trim(now, false);
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
    if (offset >= HMM_CHUNK_SIZE)
        return NULL;
    /* Move the pages, not the bytes: reserve an aligned place and let the
     * kernel remap the old pages over it. */
    char *dst = hmm_os_map_aligned(new_map, HMM_CHUNK_SIZE);
    if (!dst)
        return NULL;
    unplace(c);
    if (!hmm_os_remap_to(c, old_map, new_map, dst)) {
        place((char *)c, old_map, offset);
        hmm_os_unmap(dst, new_map);
        return NULL;
    }
    hmm_chunk_map_set(c, 0);
    hmm_stat_mapped((int64_t)new_map - (int64_t)old_map);
    return (char *)place(dst, new_map, offset) + offset;
}

void hmm_huge_lock_all(void) { pthread_mutex_lock(&cache_lock); }

void hmm_huge_unlock_all(bool child)
{
    if (child)
        pthread_mutex_init(&cache_lock, NULL);
    else
        pthread_mutex_unlock(&cache_lock);
}
