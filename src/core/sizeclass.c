/*
 * sizeclass.c - the size-class tables (sizes, slab geometry, the lookup table
 * for sizes up to HMM_TABLE_MAX).
 * Slabs are at least four pages.  Up to 2 KiB they hold at least eight
 * blocks and waste at most 1/16 of their pages.  Above 2 KiB a slab is
 * the smallest of at least two blocks that wastes at most 1/32 (two
 * blocks from 8 KiB): with eight blocks (up to 32 pages), a workload
 * moving through the big classes, as blocks grown by realloc do, left a
 * trail of partly used slabs and of empty ones too short for the next
 * class's slab (realloc's peak RSS 30.5 MiB; 24.5 with this and the dirty
 * limit of span.c, 28.5 with the limit alone).  The page-plus-header
 * class is fitted instead: 15 blocks of 4368 bytes in 16 pages leave 16
 * bytes, where the rule's 11 pages of 10 kept sqlite's peak 0.9 MiB higher.
 */
#include "core/sizeclass.h"

const hmm_class_info hmm_classes[HMM_NCLASS] = {
    {16, 4, 1024}, {32, 4, 512},  {48, 4, 341},  {64, 4, 256},  {80, 4, 204},   {96, 4, 170},
    {112, 4, 146}, {128, 4, 128}, {160, 4, 102}, {192, 4, 85},  {224, 4, 73},   {256, 4, 64},
    {320, 4, 51},  {384, 4, 42},  {448, 4, 36},  {512, 4, 32},  {640, 4, 25},   {768, 4, 21},
    {896, 4, 18},  {1024, 4, 16}, {1280, 4, 12}, {1536, 4, 10}, {1792, 4, 9},   {2048, 4, 8},
    {2560, 5, 8},  {3072, 6, 8},  {3584, 7, 8},  {4096, 4, 4},  {4368, 16, 15}, {4608, 8, 7},
    {5120, 5, 4},  {5632, 7, 5},  {6144, 6, 4},  {6656, 5, 3},  {7168, 7, 4},   {7680, 15, 8},
    {8192, 4, 2},  {10240, 5, 2}, {12288, 6, 2}, {14336, 7, 2}, {16384, 8, 2},
};

const uint8_t hmm_class_table[HMM_TABLE_MAX / 16 + 1] = {
    0,  0,  1,  2,  3,  4,  5,  6,  7,  8,  8,  9,  9,  10, 10, 11, 11, 12, 12, 12, 12, 13,
    13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17,
    17, 17, 17, 17, 17, 18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19,
};

/*
 * A heap's first slab of a class is the fewest pages that hold one block
 * (one page up to 4 KiB), and each slab that replaces a full current one
 * has twice the pages of the last, up to the class's geometry.  Every heap
 * holds a slab of each class its thread has used, and pages freed within
 * a heap stay resident for its next slabs (a thread's heap goes warm to
 * the next thread): with the class's geometry from the first block, a
 * heap that had served the 40 classes a little each kept about 180 pages
 * resident for 40 KiB live, and 20,000 short threads in waves of four
 * (mstress churn) peaked at 4.5 MiB against glibc's 2.4.  A heap that
 * uses a class much reaches its geometry after two or three slabs.  First
 * slabs of two blocks (3 or 4 pages from 4 KiB up) left those heaps about
 * ten resident pages more each: a thread of mstress churn has one or two
 * blocks of each big class at once.
 */
hmm_class_info hmm_slab_geometry(unsigned cls, size_t prev_pages)
{
    hmm_class_info g = hmm_classes[cls];
    size_t pages = ((size_t)g.size + HMM_PAGE_SIZE - 1) / HMM_PAGE_SIZE;
    if (pages < 2 * prev_pages)
        pages = 2 * prev_pages;
    if (pages < g.pages) {
        g.pages = (uint16_t)pages;
        g.count = (uint16_t)(pages * HMM_PAGE_SIZE / g.size);
    }
    return g;
}
