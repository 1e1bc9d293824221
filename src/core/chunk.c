/*
 * chunk.c - the address-space map and the life of chunks: mapped from the
 * kernel aligned to their size, formatted as one free span, owned by one
 * heap, unmapped when they have stayed wholly free for the purge delay.
 */
#include "core/chunk.h"

#include "base/options.h"
#include "base/os.h"
#include "base/stats.h"

uint8_t hmm_chunk_map[HMM_MAP_SLOTS];

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
    /* The header's head and last page name page 0: their tags are 0. */
    hmm_span *s = &c->pages[HMM_META_PAGES];
    s->kind = HMM_SPAN_FREE;
    s->npages = HMM_USABLE_PAGES;
    s->flags = HMM_SPAN_ZEROED;
    hmm_tag_set(s, s);
    hmm_tag_set(&c->pages[HMM_CHUNK_PAGES - 1], s);
}

/* Whether a heap's chunk number owned + 1 gets huge pages.  Writing the
 * header faults in the chunk's first 2 MiB at once: for a thread heap
 * holding a few hundred KiB that tripled its resident memory (larson's
 * threads), while a heap that outgrew a chunk fills the next ones. */
static bool wants_hugepages(size_t owned)
{
    return hmm_opt.hugepages == HMM_HUGEPAGES_ALL ||
           (hmm_opt.hugepages == HMM_HUGEPAGES_DENSE && owned > 0);
}

hmm_chunk *hmm_chunk_acquire(hmm_heap *heap, size_t owned)
{
    hmm_chunk *c = hmm_os_map_aligned(HMM_CHUNK_SIZE, HMM_CHUNK_SIZE);
    if (!c)
        return NULL;
    if (wants_hugepages(owned))
        hmm_os_hugepage(c, HMM_CHUNK_SIZE);
    format(c);
    c->heap = heap;
    hmm_stat_mapped((int64_t)HMM_CHUNK_SIZE);
    hmm_stat_add(&hmm_gstats.chunks, 1);
    hmm_chunk_map_set(c, 1);
    return c;
}

void hmm_chunk_release(hmm_chunk *c)
{
    hmm_chunk_map_set(c, 0);
    hmm_os_unmap(c, HMM_CHUNK_SIZE);
    hmm_stat_mapped(-(int64_t)HMM_CHUNK_SIZE);
    hmm_stat_add(&hmm_gstats.chunks, -1);
}
