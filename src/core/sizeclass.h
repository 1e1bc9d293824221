/*
 * sizeclass.h - the small size classes: 16-byte steps up to 128 bytes, then
 * four classes per doubling, so no block wastes more than a fifth of
 * itself, except eight from 4 to 8 KiB (a ninth): sqlite's 4104- and
 * 4368-byte pages took 5120 bytes, then 4608 (its peak RSS fell 7%).  Eight
 * per doubling from 8 to 16 KiB as well measured worse: blocks grown by
 * realloc cross twice as many classes, each leaving slabs partly used.
 * One more class holds a page plus a header of up to 272 bytes (sqlite's
 * page cache entries are 4368 bytes, thousands of them live at once).
 * Each class has a slab geometry.
 */
#ifndef HMM_SIZECLASS_H
#define HMM_SIZECLASS_H

#include "base/internal.h"

#define HMM_SMALL_MAX 16384
#define HMM_NCLASS 41
#define HMM_PAGE_PLUS_HEADER 4368 /* a page and its header: a class's size */
#define HMM_PAGE_PLUS_CLASS 28    /* ... and its index */
#define HMM_TABLE_MAX 1024

typedef struct hmm_class_info {
    uint32_t size;  /* bytes per block */
    uint16_t pages; /* pages per slab */
    uint16_t count; /* blocks per slab */
} hmm_class_info;

extern const hmm_class_info hmm_classes[HMM_NCLASS];
extern const uint8_t hmm_class_table[HMM_TABLE_MAX / 16 + 1];

/* The class of a size in 0..HMM_SMALL_MAX, where sizes above plus_max
 * skip the page-plus-header class. */
hmm_inline unsigned hmm_size_class_below(size_t size, size_t plus_max)
{
    if (hmm_likely(size <= HMM_TABLE_MAX))
        return hmm_class_table[(size + 15) >> 4];
    size_t s = size - 1;
    unsigned lg = 63 - (unsigned)__builtin_clzl(s);
    if (lg < 12)
        return 8 + (lg - 7) * 4 + (unsigned)(s >> (lg - 2)) - 4;
    if (lg == 12) /* the nine classes above 4 KiB */
        return HMM_PAGE_PLUS_CLASS + (unsigned)(s >> 9) - 8 + (size > plus_max);
    return 37 + (unsigned)(s >> 11) - 4;
}

/* The class of a size in 0..HMM_SMALL_MAX. */
hmm_inline unsigned hmm_size_class(size_t size)
{
    return hmm_size_class_below(size, HMM_PAGE_PLUS_HEADER);
}

/* The geometry of a heap's next slab of class cls, when its current slab
 * of the class has prev_pages pages (0: it has none): the class's
 * geometry, or fewer pages for a heap that has shown little use for the
 * class yet (see sizeclass.c). */
hmm_class_info hmm_slab_geometry(unsigned cls, size_t prev_pages);

/* The smallest class of at least size bytes whose blocks are all aligned to
 * align (a power of two <= page size); HMM_NCLASS when none is.  Slabs
 * start on a page boundary, so a class whose size is a multiple of align
 * keeps every block aligned; rounding size up to align finds the smallest
 * such class, as the classes are spaced so that the class of a multiple
 * of align is one too, except the page-plus-header class (a multiple of
 * 16 only), which such a size skips for the next (aligned to 512;
 * t/unit/sizeclass checks every size against a search). */
hmm_inline unsigned hmm_size_class_aligned(size_t size, size_t align)
{
    if (size > HMM_SMALL_MAX)
        return HMM_NCLASS;
    return hmm_size_class_below(hmm_align_up(size + (size == 0), align),
                                align > HMM_ALIGN ? HMM_PAGE_SIZE : HMM_PAGE_PLUS_HEADER);
}

#endif
