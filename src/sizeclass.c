/*
 * sizeclass.c - the size-class tables (sizes, slab geometry, the lookup table
 * for sizes up to HMM_TABLE_MAX) and the search for an aligned class.
 * Slabs are at least four pages, hold at least eight blocks and waste at
 * most 1/16 of their pages: small slabs keep a thread's partly used memory
 * low, and the empty ones go back to the span allocator sooner.
 */
#include "sizeclass.h"

const hmm_class_info hmm_classes[HMM_NCLASS] = {
    {16, 4, 1024},  {32, 4, 512},   {48, 4, 341},   {64, 4, 256},   {80, 4, 204},  {96, 4, 170},
    {112, 4, 146},  {128, 4, 128},  {160, 4, 102},  {192, 4, 85},   {224, 4, 73},  {256, 4, 64},
    {320, 4, 51},   {384, 4, 42},   {448, 4, 36},   {512, 4, 32},   {640, 4, 25},  {768, 4, 21},
    {896, 4, 18},   {1024, 4, 16},  {1280, 4, 12},  {1536, 4, 10},  {1792, 4, 9},  {2048, 4, 8},
    {2560, 5, 8},   {3072, 6, 8},   {3584, 7, 8},   {4096, 8, 8},   {4608, 9, 8},  {5120, 10, 8},
    {5632, 11, 8},  {6144, 12, 8},  {6656, 13, 8},  {7168, 14, 8},  {7680, 15, 8}, {8192, 16, 8},
    {10240, 20, 8}, {12288, 24, 8}, {14336, 28, 8}, {16384, 32, 8},
};

const uint8_t hmm_class_table[HMM_TABLE_MAX / 16 + 1] = {
    0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  8,  9,  9,  10, 10, 11, 11, 12, 12, 12, 12, 13,
    13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17,
    17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19,
};

unsigned hmm_size_class_aligned(size_t size, size_t align)
{
    /* Slabs start on a page boundary, so a class whose size is a multiple of
     * align keeps every block aligned. */
    for (unsigned c = size <= HMM_SMALL_MAX ? hmm_size_class(size) : HMM_NCLASS; c < HMM_NCLASS;
         c++)
        if ((hmm_classes[c].size & (align - 1)) == 0)
            return c;
    return HMM_NCLASS;
}
