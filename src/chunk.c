/*
 * chunk.c - the address-space map and the life of chunks: mapped from the
 * kernel aligned to their size, owned by one heap, and when wholly free
 * kept in a small process-wide pool for a while before being unmapped, so
 * programs that free and reallocate do not pay page faults again.
 */
#include "chunk.h"

#include <pthread.h>
#include <string.h>

#include "options.h"
#include "os.h"
#include "stats.h"

uint8_t *hmm_chunk_map;

#define POOL_MAX 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_list pool = {&pool, &pool};
static size_t pool_len;

bool hmm_chunk_init(void)
{
    if (__atomic_load_n(&hmm_chunk_map, __ATOMIC_ACQUIRE))
        return true;
    uint8_t *map = hmm_os_reserve((size_t)1 << (HMM_ADDR_BITS - HMM_CHUNK_SHIFT));
    if (!map)
        return false;
    uint8_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&hmm_chunk_map, &expected, map, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        hmm_os_unmap(map, (size_t)1 << (HMM_ADDR_BITS - HMM_CHUNK_SHIFT));
    return true;
}

void hmm_chunk_map_set(const void *slot, uint8_t v)
{
    __atomic_store_n(&hmm_chunk_map[(uintptr_t)slot >> HMM_CHUNK_SHIFT], v, __ATOMIC_RELEASE);
}

static void format(hmm_chunk *c)
{
    c->magic = HMM_CHUNK_NORMAL;
    c->free_pages = HMM_USABLE_PAGES;
    hmm_span *meta = &c->pages[0];
    meta->kind = HMM_SPAN_META;
    meta->npages = HMM_META_PAGES;
    c->pages[HMM_META_PAGES - 1].head_off = HMM_META_PAGES - 1;
    hmm_span *s = &c->pages[HMM_META_PAGES];
    s->kind = HMM_SPAN_FREE;
    s->npages = HMM_USABLE_PAGES;
    s->flags = HMM_SPAN_ZEROED;
    c->pages[HMM_CHUNK_PAGES - 1].head_off = HMM_USABLE_PAGES - 1;
}

hmm_chunk *hmm_chunk_acquire(hmm_heap *heap)
{
    hmm_chunk *c = NULL;
    pthread_mutex_lock(&pool_lock);
    hmm_list *n = hmm_list_first(&pool);
    if (n) {
        hmm_list_remove(n);
        pool_len--;
        c = hmm_container_of(n, hmm_chunk, link);
    }
    pthread_mutex_unlock(&pool_lock);
    if (!c) {
        c = hmm_os_map_aligned(HMM_CHUNK_SIZE, HMM_CHUNK_SIZE);
        if (!c)
            return NULL;
        format(c);
        hmm_stat_mapped((int64_t)HMM_CHUNK_SIZE);
        hmm_stat_add(&hmm_gstats.chunks, 1);
        hmm_chunk_map_set(c, 1);
    }
    c->heap = heap;
    return c;
}

static void unmap_chunk(hmm_chunk *c)
{
    hmm_chunk_map_set(c, 0);
    hmm_os_unmap(c, HMM_CHUNK_SIZE);
    hmm_stat_mapped(-(int64_t)HMM_CHUNK_SIZE);
    hmm_stat_add(&hmm_gstats.chunks, -1);
}

void hmm_chunk_release(hmm_chunk *c)
{
    c->heap = NULL;
    c->released_at = hmm_os_now_ms();
    pthread_mutex_lock(&pool_lock);
    bool keep = pool_len < POOL_MAX;
    if (keep) {
        hmm_list_push(&pool, &c->link);
        pool_len++;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!keep)
        unmap_chunk(c);
}

void hmm_chunk_pool_trim(uint64_t now, uint64_t delay_ms)
{
    for (;;) {
        hmm_chunk *victim = NULL;
        pthread_mutex_lock(&pool_lock);
        /* The oldest sit at the back. */
        if (!hmm_list_empty(&pool)) {
            hmm_chunk *c = hmm_container_of(pool.prev, hmm_chunk, link);
            if (now - c->released_at >= delay_ms) {
                hmm_list_remove(&c->link);
                pool_len--;
                victim = c;
            }
        }
        pthread_mutex_unlock(&pool_lock);
        if (!victim)
            return;
        unmap_chunk(victim);
    }
}

void hmm_chunk_lock_all(void) { pthread_mutex_lock(&pool_lock); }

void hmm_chunk_unlock_all(bool child)
{
    if (child)
        pthread_mutex_init(&pool_lock, NULL);
    else
        pthread_mutex_unlock(&pool_lock);
}
