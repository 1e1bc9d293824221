/*
 * sizeclass.c - the size classes of src/core/sizeclass.h on their own: the table
 * is ordered and aligned, every small size maps to the smallest class that
 * holds it, the documented waste bounds hold, and the aligned-class search
 * agrees with a brute-force search.
 */
#include <stdbool.h>
#include <stdio.h>

#include "core/sizeclass.h"
#include "tap.h"

static void test_table(void)
{
    bool sorted = true, aligned = true;
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        if (c > 0 && hmm_classes[c].size <= hmm_classes[c - 1].size)
            sorted = false;
        if (hmm_classes[c].size % HMM_ALIGN != 0)
            aligned = false;
    }
    ok(sorted, "class sizes strictly increase");
    ok(aligned, "every class size is a multiple of %d", HMM_ALIGN);
    is_int(HMM_ALIGN, hmm_classes[0].size, "the smallest class is %d bytes", HMM_ALIGN);
    is_int(HMM_SMALL_MAX, hmm_classes[HMM_NCLASS - 1].size, "the largest class is HMM_SMALL_MAX");
}

static void test_lookup(void)
{
    size_t bad_fit = 0, not_smallest = 0, not_monotonic = 0, too_wasteful = 0;
    unsigned prev = 0;
    for (size_t size = 0; size <= HMM_SMALL_MAX; size++) {
        unsigned c = hmm_size_class(size);
        if (c >= HMM_NCLASS || hmm_classes[c].size < size) {
            if (bad_fit++ < 5)
                diag("size %zu -> class %u does not hold it", size, c);
            continue;
        }
        if (c > 0 && hmm_classes[c - 1].size >= size && size > 0) {
            if (not_smallest++ < 5)
                diag("size %zu -> class %u (%u bytes) but class %u (%u bytes) fits", size, c,
                     (unsigned)hmm_classes[c].size, c - 1, (unsigned)hmm_classes[c - 1].size);
        }
        if (c < prev && not_monotonic++ < 5)
            diag("size %zu -> class %u, below class %u of size %zu", size, c, prev, size - 1);
        prev = c;
        /* Above 128 bytes no block wastes more than a fifth of itself. */
        if (size > 128 && (hmm_classes[c].size - size) * 5 > hmm_classes[c].size &&
            too_wasteful++ < 5)
            diag("size %zu in class of %u bytes wastes more than a fifth", size,
                 (unsigned)hmm_classes[c].size);
    }
    is_int(0, (long long)bad_fit, "every size 0..HMM_SMALL_MAX maps to a class that holds it");
    is_int(0, (long long)not_smallest, "... and to the smallest such class");
    is_int(0, (long long)not_monotonic, "the class never decreases as the size grows");
    is_int(0, (long long)too_wasteful, "above 128 bytes, waste is at most a fifth of the block");
    is_int(0, hmm_size_class(0), "size 0 maps to the smallest class");
}

/* Whether a slab of pages pages of size-byte blocks may be a big class's:
 * at least 4 pages and 2 blocks, at most 1/32 wasted. */
static bool big_slab_ok(size_t size, size_t pages)
{
    size_t slab = pages * HMM_PAGE_SIZE, count = slab / size;
    return pages >= 4 && count >= 2 && (slab - count * size) * 32 <= slab;
}

static void test_geometry(void)
{
    size_t bad = 0, not_smallest = 0;
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        const hmm_class_info *k = &hmm_classes[c];
        size_t slab = (size_t)k->pages * HMM_PAGE_SIZE;
        size_t min_count = k->size <= 2048 ? 8 : 2;
        if (k->pages < 4 || k->count != slab / k->size || k->count < min_count ||
            slab - (size_t)k->count * k->size > slab / 16) {
            if (bad++ < 5)
                diag("class %u: %u bytes, %u pages, %u blocks", c, (unsigned)k->size,
                     (unsigned)k->pages, (unsigned)k->count);
        }
        if (k->size == HMM_PAGE_PLUS_HEADER) {
            /* Fitted: 15 blocks in 16 pages, 16 bytes unused (the rule's
             * 11 pages of 10 blocks kept 0.9 MiB more of sqlite's pages). */
            if (k->pages != 16 || k->count != 15)
                if (not_smallest++ < 5)
                    diag("class %u: %u bytes, %u pages is not the fitted slab", c,
                         (unsigned)k->size, (unsigned)k->pages);
        } else if (k->size > 2048) {
            bool smaller = false;
            for (size_t p = 1; p < k->pages; p++)
                smaller |= big_slab_ok(k->size, p);
            if (smaller || !big_slab_ok(k->size, k->pages))
                if (not_smallest++ < 5)
                    diag("class %u: %u bytes, %u pages is not the smallest good slab", c,
                         (unsigned)k->size, (unsigned)k->pages);
        }
    }
    is_int(0, (long long)bad,
           "each slab is >= 4 pages, holds all the blocks that fit (>= 8 up to 2 KiB, >= 2 "
           "above) and wastes <= 1/16 of its pages");
    is_int(0, (long long)not_smallest,
           "above 2 KiB, each slab is the smallest of >= 4 pages and >= 2 blocks wasting <= 1/32 "
           "(the page-plus-header class's: 15 blocks in 16 pages)");
}

static void test_aligned(void)
{
    size_t bad = 0, checked = 0;
    for (size_t align = 1; align <= HMM_PAGE_SIZE; align <<= 1) {
        for (size_t size = 0; size <= HMM_SMALL_MAX; size++) {
            unsigned got = hmm_size_class_aligned(size, align);
            unsigned want = HMM_NCLASS;
            for (unsigned c = hmm_size_class(size); c < HMM_NCLASS; c++)
                if (hmm_classes[c].size >= size && hmm_classes[c].size % align == 0) {
                    want = c;
                    break;
                }
            checked++;
            if (got != want && bad++ < 5)
                diag("aligned class of size %zu, alignment %zu: got %u, want %u", size, align, got,
                     want);
        }
    }
    is_int(0, (long long)bad, "hmm_size_class_aligned agrees with a brute-force search (%zu cases)",
           checked);
    ok(hmm_size_class_aligned(HMM_SMALL_MAX + 1, 16) == HMM_NCLASS,
       "no aligned class for a size above HMM_SMALL_MAX");
    ok(hmm_size_class_aligned(HMM_SMALL_MAX, HMM_PAGE_SIZE) < HMM_NCLASS,
       "HMM_SMALL_MAX is page-aligned");
}

/* A page plus a header (sqlite's 4104- and 4368-byte page cache entries)
 * has a class of its own, not 4608 bytes; aligned requests above 16 that
 * round into it go to the next class, which is aligned to 512. */
static void test_page_plus_header(void)
{
    unsigned c = hmm_size_class(HMM_PAGE_PLUS_HEADER);
    is_int(HMM_PAGE_PLUS_CLASS, c, "a 4368-byte block has HMM_PAGE_PLUS_CLASS");
    is_int(HMM_PAGE_PLUS_HEADER, hmm_classes[c].size, "... a class of its size");
    is_int(c, hmm_size_class(4104), "a 4104-byte block shares it");
    is_int(c + 1, hmm_size_class(HMM_PAGE_PLUS_HEADER + 1), "4369 bytes take the next class");
    is_int(c + 1, hmm_size_class_aligned(4352, 256), "4352 bytes aligned to 256 skip it");
    is_int(c, hmm_size_class_aligned(4352, 16), "... aligned to 16 they do not");
}

/* A heap's slabs of a class grow: the first is the fewest pages holding
 * one block (a thread with a block or two of each big class kept 3 or 4
 * pages of each), each next one twice the last, up to the class's. */
static void test_growth(void)
{
    size_t bad_first = 0, bad_next = 0;
    for (unsigned c = 0; c < HMM_NCLASS; c++) {
        const hmm_class_info *k = &hmm_classes[c];
        size_t one = (k->size + HMM_PAGE_SIZE - 1) / HMM_PAGE_SIZE;
        hmm_class_info g = hmm_slab_geometry(c, 0);
        if (g.pages != (one < k->pages ? one : k->pages) || g.count < 1 ||
            g.count != g.pages * HMM_PAGE_SIZE / k->size || g.size != k->size)
            if (bad_first++ < 5)
                diag("class %u: first slab %u pages of %u blocks", c, (unsigned)g.pages,
                     (unsigned)g.count);
        for (size_t prev = g.pages; prev < k->pages; prev = g.pages) {
            g = hmm_slab_geometry(c, prev);
            size_t want = 2 * prev < k->pages ? 2 * prev : k->pages;
            if (g.pages != want || g.count != g.pages * HMM_PAGE_SIZE / k->size)
                if (bad_next++ < 5)
                    diag("class %u: after %zu pages, %u", c, prev, (unsigned)g.pages);
        }
    }
    is_int(0, (long long)bad_first,
           "a heap's first slab of a class is the fewest pages for a block");
    is_int(0, (long long)bad_next, "... each next one twice the last, up to the class's");
    hmm_class_info g = hmm_slab_geometry(hmm_size_class(8192), 0);
    ok(g.pages == 2 && g.count == 1, "the first 8 KiB slab is 2 pages of one block");
}

int main(void)
{
    plan(23);
    test_table();
    test_lookup();
    test_geometry();
    test_aligned();
    test_page_plus_header();
    test_growth();
    return tap_done();
}
