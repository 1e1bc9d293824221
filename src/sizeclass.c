/*
 * sizeclass.c - the size-class tables (sizes, slab geometry, the lookup table
 * for sizes up to HMM_TABLE_MAX) and the search for an aligned class.
 * Slabs hold at least eight blocks and waste at most 1/16 of their pages.
 */
#include "sizeclass.h"

const hmm_class_info hmm_classes[HMM_NCLASS] = {
    {16, 16, 4096},
    {32, 16, 2048},
    {48, 16, 1365},
    {64, 16, 1024},
    {80, 16, 819},
    {96, 16, 682},
    {112, 16, 585},
    {128, 16, 512},
    {160, 16, 409},
    {192, 16, 341},
    {224, 16, 292},
    {256, 16, 256},
    {320, 16, 204},
    {384, 16, 170},
    {448, 16, 146},
    {512, 16, 128},
    {640, 16, 102},
    {768, 16, 85},
    {896, 16, 73},
    {1024, 16, 64},
    {1280, 16, 51},
    {1536, 16, 42},
    {1792, 16, 36},
    {2048, 16, 32},
    {2560, 16, 25},
    {3072, 16, 21},
    {3584, 16, 18},
    {4096, 16, 16},
    {5120, 16, 12},
    {6144, 16, 10},
    {7168, 16, 9},
    {8192, 16, 8},
    {10240, 20, 8},
    {12288, 24, 8},
    {14336, 28, 8},
    {16384, 32, 8},
};

const uint8_t hmm_class_table[HMM_TABLE_MAX / 16 + 1] = {
    0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 10, 11,
    11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15,
    15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17,
    17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19,
    19,
};

unsigned hmm_size_class_aligned(size_t size, size_t align)
{
    /* Slabs start on a page boundary, so a class whose size is a multiple of
     * align keeps every block aligned. */
    for (unsigned c = size <= HMM_SMALL_MAX ? hmm_size_class(size) : HMM_NCLASS; c < HMM_NCLASS; c++)
        if ((hmm_classes[c].size & (align - 1)) == 0)
            return c;
    return HMM_NCLASS;
}
