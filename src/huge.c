/*
 * huge.c - blocks mapped one by one.  The header sits in the mapping's first
 * page, at a chunk boundary; the block follows it at `offset`, which is a
 * page, or the alignment asked for.  For alignments of a chunk or more the
 * block itself starts a chunk slot, and the map marks that slot "header one
 * slot below".
 */
#include "huge.h"

#include "os.h"
#include "stats.h"

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
    hmm_stat_mapped((int64_t)map_size);
    hmm_stat_add(&hmm_gstats.huge_blocks, 1);
    hmm_stat_add(&hmm_gstats.huge_bytes, (int64_t)(map_size - offset));
    return c;
}

static void unplace(hmm_chunk *c)
{
    if (c->offset >= HMM_CHUNK_SIZE)
        hmm_chunk_map_set((char *)c + c->offset, 0);
    hmm_chunk_map_set(c, 0);
    hmm_stat_mapped(-(int64_t)c->map_size);
    hmm_stat_add(&hmm_gstats.huge_blocks, -1);
    hmm_stat_add(&hmm_gstats.huge_bytes, -(int64_t)(c->map_size - c->offset));
}

void *hmm_huge_alloc(size_t size, size_t align)
{
    if (!hmm_chunk_init() || size > PTRDIFF_MAX - 2 * HMM_CHUNK_SIZE || align > ((size_t)1 << 40))
        return NULL;
    size = hmm_align_up(size, HMM_PAGE_SIZE);
    if (align < HMM_CHUNK_SIZE) {
        size_t offset = align > HMM_PAGE_SIZE ? align : HMM_PAGE_SIZE;
        char *hdr = hmm_os_map_aligned(offset + size, HMM_CHUNK_SIZE);
        if (!hdr)
            return NULL;
        return hdr + place(hdr, offset + size, offset)->offset;
    }
    /* Map align + size aligned to align; the block is at start + align and
     * its header a chunk below; the rest before the header is returned. */
    char *start = hmm_os_map_aligned(align + size, align);
    if (!start)
        return NULL;
    char *hdr = start + align - HMM_CHUNK_SIZE;
    if (hdr > start)
        hmm_os_unmap(start, (size_t)(hdr - start));
    place(hdr, HMM_CHUNK_SIZE + size, HMM_CHUNK_SIZE);
    return hdr + HMM_CHUNK_SIZE;
}

void hmm_huge_free(hmm_chunk *c)
{
    size_t map_size = c->map_size;
    unplace(c);
    hmm_os_unmap(c, map_size);
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
        hmm_os_unmap(dst, new_map);
        place((char *)c, old_map, offset);
        return NULL;
    }
    return (char *)place(dst, new_map, offset) + offset;
}
