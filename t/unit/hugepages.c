/*
 * hugepages.c - where HMM_HUGEPAGES asks the kernel for transparent huge
 * pages, read back from the VmFlags of /proc/self/smaps ("hg" is
 * madvise(MADV_HUGEPAGE)): with 1, on huge blocks and on a heap's chunks
 * after its first, never on a heap's first chunk (a thread heap holding a
 * few hundred KiB would have 2 MiB resident); with 2, on every chunk.
 * Whether the kernel then backs them with huge pages is its business, not
 * checked.  Runs with HMM_HUGEPAGES=1 (the test re-executes itself); mode
 * 2 is switched on through the options of the static core.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/chunk.h"
#include "hmm.h"
#include "base/options.h"
#include "tap.h"

int hmm_check_heap(void); /* src/core/heap.h; internal, 0 when consistent */

/* Whether the mapping holding p is marked for huge pages. */
static bool marked(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        sysbail("cannot open /proc/self/smaps");
    char line[512];
    bool inside = false, hg = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            hg = strstr(line, " hg") != NULL;
            break;
        }
    }
    fclose(f);
    return hg;
}

/* A thread that takes a small block and keeps its heap until told to go:
 * a heap left by an exited thread would be adopted by the next one, whose
 * first chunk would then not be new. */
typedef struct holder {
    pthread_t thread;
    pthread_barrier_t looked, go;
    bool marked;
} holder;

static void *hold(void *arg)
{
    holder *h = arg;
    void *p = HmmAlloc(64);
    h->marked = marked(hmm_chunk_of(p));
    pthread_barrier_wait(&h->looked);
    pthread_barrier_wait(&h->go);
    HmmFree(p);
    return NULL;
}

/* Starts a holder; returns whether its first chunk is marked. */
static bool hold_start(holder *h)
{
    pthread_barrier_init(&h->looked, NULL, 2);
    pthread_barrier_init(&h->go, NULL, 2);
    if (pthread_create(&h->thread, NULL, hold, h) != 0)
        bail("cannot start a thread");
    pthread_barrier_wait(&h->looked);
    return h->marked;
}

static void hold_end(holder *h)
{
    pthread_barrier_wait(&h->go);
    pthread_join(h->thread, NULL);
    pthread_barrier_destroy(&h->looked);
    pthread_barrier_destroy(&h->go);
}

int main(int argc, char **argv)
{
    (void)argc;
    tap_run_with_env("HMM_HUGEPAGES", "1", argv);
    if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
        skip_all("the kernel has no transparent huge pages");
    plan(6);

    char *small = HmmAlloc(64);
    hmm_chunk *first = hmm_chunk_of(small);
    ok(!marked(first), "mode 1: a heap's first chunk is not marked");

    /* 1 MiB blocks until one lands in the heap's second chunk. */
    enum { MIB = 1 << 20, MAX = 8 };
    char *large[MAX];
    size_t n = 0;
    do
        large[n] = HmmAlloc(MIB);
    while (hmm_chunk_of(large[n++]) == first && n < MAX);
    ok(hmm_chunk_of(large[n - 1]) != first && marked(hmm_chunk_of(large[n - 1])),
       "mode 1: its second chunk is marked (after %zu blocks of 1 MiB)", n);

    char *huge = HmmAlloc(8 * MIB);
    ok(marked(huge), "mode 1: a huge block is marked");

    holder one, two;
    ok(!hold_start(&one), "mode 1: a new thread's first chunk is not marked");
    hmm_opt.hugepages = HMM_HUGEPAGES_ALL;
    ok(hold_start(&two), "mode 2: a new thread's first chunk is marked");
    hold_end(&two);
    hold_end(&one);

    HmmFree(huge);
    for (size_t i = 0; i < n; i++)
        HmmFree(large[i]);
    HmmFree(small);
    is_int(0, hmm_check_heap(), "the heap is consistent afterwards");
    return tap_done();
}
