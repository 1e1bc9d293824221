/*
 * sizeclass.h - the small size classes: 16-byte steps up to 128 bytes, then
 * four classes per doubling up to HMM_SMALL_MAX, so no block wastes more
 * than a fifth of itself.  Each class has a slab geometry.
 */
#ifndef HMM_SIZECLASS_H
#define HMM_SIZECLASS_H

#include "internal.h"

#define HMM_SMALL_MAX 16384
#define HMM_NCLASS 36
#define HMM_TABLE_MAX 1024

typedef struct hmm_class_info {
    uint32_t size;  /* bytes per block */
    uint16_t pages; /* pages per slab */
    uint16_t count; /* blocks per slab */
} hmm_class_info;

extern const hmm_class_info hmm_classes[HMM_NCLASS];
extern const uint8_t hmm_class_table[HMM_TABLE_MAX / 16 + 1];

/* The class of a size in 0..HMM_SMALL_MAX. */
hmm_inline unsigned hmm_size_class(size_t size)
{
    if (hmm_likely(size <= HMM_TABLE_MAX))
        return hmm_class_table[(size + 15) >> 4];
    size_t s = size - 1;
    unsigned lg = 63 - (unsigned)__builtin_clzl(s);
    return 8 + (lg - 7) * 4 + (unsigned)(s >> (lg - 2)) - 4;
}

/* The smallest class of at least size bytes whose blocks are all aligned to
 * align (a power of two <= page size); HMM_NCLASS when none is. */
unsigned hmm_size_class_aligned(size_t size, size_t align);

#endif
