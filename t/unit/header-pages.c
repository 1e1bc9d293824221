/*
 * header-pages.c - a chunk's header pages are touched only as its spans
 * need them: a large block freed next to the chunk's free tail merges with
 * it without writing the descriptor of the chunk's last page, whose header
 * page nothing else uses while the tail is free (it was one resident page
 * a chunk).  Residency is read with
 * mincore(2); the heap check runs after it, as its walk reads every
 * descriptor.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>

#include "core/chunk.h"
#include "tap.h"
#include "testlib.h"

int hmm_check_heap(void); /* src/core/heap.h; internal, 0 when consistent */

/* Whether the page holding p is resident. */
static bool resident(const void *p)
{
    unsigned char vec = 0;
    void *page = (void *)((uintptr_t)p & ~(uintptr_t)(HMM_PAGE_SIZE - 1));
    if (mincore(page, HMM_PAGE_SIZE, &vec) != 0)
        bail("mincore failed");
    return vec & 1;
}

int main(void)
{
    plan(3);
    /* The process's first block: a new heap and chunk, its tail free. */
    void *p = HmmAlloc(64 * KiB);
    if (!p)
        bail("HmmAlloc failed");
    hmm_chunk *c = hmm_chunk_of(p);
    const hmm_span *last = &c->pages[HMM_CHUNK_PAGES - 1];
    ok(!resident(last), "the last page's descriptor is not resident with the tail free");
    HmmFree(p);
    ok(!resident(last), "... nor after a block merged with the tail");
    is_int(0, hmm_check_heap(), "the heap is consistent");
    return tap_done();
}
