/*
 * misuse.c - bad frees, and writes into freed blocks that corrupt the free
 * lists, are caught: each case runs in a child whose stderr is captured; the
 * child must die of SIGABRT (never SIGSEGV, never by using a forged pointer)
 * after writing exactly one line, "libhmm: FUNC(): WHAT 0xADDR", naming the
 * function it called and the address it passed or the block it corrupted.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "tap.h"
#include "testlib.h"

static char static_array[256] __attribute__((aligned(16)));

/* The cases. */
static void hmm_free_stack(void)
{
    char local[64];
    bad_ptr = local + 16;
    HmmFree(bad_ptr);
}
static void hmm_free_static(void)
{
    bad_ptr = static_array + 32;
    HmmFree(bad_ptr);
}
static void hmm_free_mmap(void)
{
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bad_ptr = m + 4096;
    HmmFree(bad_ptr);
}
static void hmm_free_unmapped(void)
{
    bad_ptr = (void *)(uintptr_t)0x5555deadbee0ULL;
    HmmFree(bad_ptr);
}
static void hmm_double_free(void)
{
    bad_ptr = HmmAlloc(32);
    HmmFree(bad_ptr);
    HmmFree(bad_ptr);
}
static void hmm_double_free_later(void)
{
    /* Not the most recently freed block: other frees in between. */
    void *other[8];
    bad_ptr = HmmAlloc(48);
    for (int i = 0; i < 8; i++)
        other[i] = HmmAlloc(48);
    HmmFree(bad_ptr);
    for (int i = 0; i < 8; i++)
        HmmFree(other[i]);
    HmmFree(bad_ptr);
}
static void hmm_double_free_sizes(void)
{
    /* A double free of a small block in a slab of another class. */
    bad_ptr = HmmAlloc(3000);
    HmmFree(bad_ptr);
    void *p = HmmAlloc(100);
    HmmFree(bad_ptr);
    HmmFree(p);
}
static void hmm_free_inside(void)
{
    bad_ptr = (char *)HmmAlloc(64) + 16;
    HmmFree(bad_ptr);
}
static void hmm_free_uncarved(void)
{
    /* The first block of a fresh slab (no 48-byte block was made in this
     * process before): its first page is carved, block 100 is not. */
    bad_ptr = (char *)HmmAlloc(48) + 48 * 100;
    HmmFree(bad_ptr);
}
static void hmm_free_high_bits(void)
{
    /* A live block's address with bits above user space set. */
    bad_ptr = (void *)((uintptr_t)HmmAlloc(32) | (uintptr_t)1 << 52);
    HmmFree(bad_ptr);
}
/* 300 blocks of 64 bytes: the first slab (256 blocks) is full and no
 * longer current, so the fast path refuses its blocks. */
static char *fill_slab(void)
{
    char *first = HmmAlloc(64);
    for (int i = 1; i < 300; i++) {
        void *volatile keep = HmmAlloc(64); /* live until the child dies */
        (void)keep;
    }
    return first;
}
static void hmm_double_free_full_slab(void)
{
    bad_ptr = fill_slab();
    HmmFree(bad_ptr);
    HmmFree(bad_ptr);
}
static void hmm_free_inside_full_slab(void)
{
    bad_ptr = fill_slab() + 8;
    HmmFree(bad_ptr);
}
/* 300 blocks of 64 bytes, all freed: the slabs before the current one
 * are empty, and kept as spares of their class.  Returns the first block,
 * in the first of them. */
static char *empty_slabs(void)
{
    static void *blocks[300];
    for (int i = 0; i < 300; i++)
        blocks[i] = HmmAlloc(64);
    for (int i = 0; i < 300; i++)
        HmmFree(blocks[i]);
    return blocks[0];
}
static void hmm_double_free_spare_slab(void)
{
    bad_ptr = empty_slabs();
    HmmFree(bad_ptr);
}
static void hmm_free_inside_spare_slab(void)
{
    bad_ptr = empty_slabs() + 8;
    HmmFree(bad_ptr);
}
/* Misuse from a thread that does not own the block.  The thread
 * allocates first, so it has a heap and an outbox of its own and its frees
 * take the cross-thread path; with twice, it frees the pointer again. */
struct other_free {
    void *p;
    int twice;
};
static void *free_as_other(void *arg)
{
    struct other_free *o = arg;
    void *own = HmmAlloc(16);
    HmmFree(o->p);
    if (o->twice)
        HmmFree(o->p);
    HmmFree(own);
    return NULL;
}
static void free_in_other_thread(void *p, int twice)
{
    struct other_free o = {p, twice};
    pthread_t t;
    if (pthread_create(&t, NULL, free_as_other, &o) != 0 || pthread_join(t, NULL) != 0)
        _exit(5);
}
static void hmm_other_double_free(void)
{
    bad_ptr = HmmAlloc(32);
    free_in_other_thread(bad_ptr, 1);
}
static void hmm_other_free_after_owner(void)
{
    bad_ptr = HmmAlloc(32);
    HmmFree(bad_ptr);
    free_in_other_thread(bad_ptr, 0);
}
static void hmm_other_free_inside(void)
{
    bad_ptr = (char *)HmmAlloc(64) + 16;
    free_in_other_thread(bad_ptr, 0);
}
static void hmm_other_free_uncarved(void)
{
    bad_ptr = (char *)HmmAlloc(48) + 48 * 100;
    free_in_other_thread(bad_ptr, 0);
}
static void hmm_other_double_free_full_slab(void)
{
    bad_ptr = fill_slab();
    free_in_other_thread(bad_ptr, 1);
}
static void hmm_other_free_inside_full_slab(void)
{
    bad_ptr = fill_slab() + 8;
    free_in_other_thread(bad_ptr, 0);
}
static void *no_op(void *arg) { return arg; }
static void hmm_other_double_free_spare_slab(void)
{
    /* A thread's first start allocates (glibc: the thread's DTV, in a
     * class new to this heap), and a new slab takes a spare's pages: the
     * pointer would be a live block again.  A later start reuses what the
     * first left. */
    pthread_t t;
    if (pthread_create(&t, NULL, no_op, NULL) != 0 || pthread_join(t, NULL) != 0)
        _exit(5);
    bad_ptr = empty_slabs();
    free_in_other_thread(bad_ptr, 0);
}
static void hmm_other_free_large_twice(void)
{
    bad_ptr = HmmAlloc(100000);
    free_in_other_thread(bad_ptr, 1);
}
/* Large blocks of the thread's own heap: between two live ones, so the
 * freed span has no free neighbour to merge with. */
static char *large_between(void)
{
    void *volatile before = HmmAlloc(100000);
    char *p = HmmAlloc(100000);
    void *volatile after = HmmAlloc(100000);
    (void)before;
    (void)after;
    return p;
}
static void hmm_double_free_large(void)
{
    bad_ptr = large_between();
    HmmFree(bad_ptr);
    HmmFree(bad_ptr);
}
static void hmm_free_inside_large(void)
{
    bad_ptr = large_between() + 16;
    HmmFree(bad_ptr);
}
static void hmm_free_inside_large_last_page(void)
{
    /* The last page carries the boundary tag: it names the head. */
    bad_ptr = large_between() + 98304;
    HmmFree(bad_ptr);
}
static void hmm_realloc_stack(void)
{
    char local[64];
    bad_ptr = local;
    void *p = HmmRealloc(bad_ptr, 100);
    (void)p;
}
static void hmm_usable_stack(void)
{
    char local[64];
    bad_ptr = local;
    volatile size_t n = HmmUsableSize(bad_ptr);
    (void)n;
}

/* Free-list corruption.  A child exits with FORGED_EXIT when libhmm handed
 * out the forged address, which the report must prevent. */
#define FORGED_EXIT 3
typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

/* Frees two blocks, then overwrites the link of the most recently freed one
 * with the address of a static buffer, as a use after free would. */
static void forge_link(alloc_fn alloc, free_fn release)
{
    void *a = alloc(32), *b = alloc(32);
    release(a);
    release(b);
    bad_ptr = b;
    *(void **)b = static_array + 64;
    for (int i = 0; i < 2; i++)
        if (alloc(32) == static_array + 64)
            _exit(FORGED_EXIT);
}

/* Overflows a live block into the first 16 bytes of its free neighbour. */
static void overflow_into_free(alloc_fn alloc, free_fn release)
{
    char *a = alloc(32), *n = alloc(32);
    if (n != a + 32)
        _exit(4); /* a fresh slab is carved in address order */
    release(n);
    bad_ptr = n;
    memset(a, 0x41, 32 + 16);
    for (int i = 0; i < 4; i++)
        alloc(32);
}

static free_fn remote_release;
static void *free_in_thread(void *p)
{
    remote_release(p);
    return NULL;
}

/* A block freed by another thread waits on its owner's remote list; its
 * link is overwritten before the owner drains it (on a slow path). */
static void forge_remote_link(alloc_fn alloc, free_fn release)
{
    void *p = alloc(32);
    pthread_t t;
    remote_release = release;
    if (pthread_create(&t, NULL, free_in_thread, p) != 0 || pthread_join(t, NULL) != 0)
        _exit(5);
    bad_ptr = p;
    *(void **)p = static_array + 64;
    if (alloc(100000) == static_array + 64 || alloc(32) == static_array + 64)
        _exit(FORGED_EXIT);
}

static void hmm_forge_link(void) { forge_link(HmmAlloc, HmmFree); }
static void hmm_overflow_into_free(void) { overflow_into_free(HmmAlloc, HmmFree); }
static void hmm_forge_remote_link(void) { forge_remote_link(HmmAlloc, HmmFree); }

/* The very first call into libhmm in a fresh process is a bad free. */
static const char *self;
#define NOWHERE ((void *)(uintptr_t)0x5555deadbee0ULL)
static void first_call(const char *func)
{
    bad_ptr = NOWHERE;
    execl(self, self, "--first", func, (char *)NULL);
    _exit(99);
}
static void hmm_first_call(void) { first_call("HmmFree"); }

#if HMM_TEST_INTERPOSE
static void free_first_call(void) { first_call("free"); }

static void free_stack(void)
{
    char local[64];
    bad_ptr = local + 16;
    free(bad_ptr);
}
static void free_never_allocated(void)
{
    bad_ptr = static_array + 16;
    free(bad_ptr);
}
static void free_mmap(void)
{
    char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bad_ptr = m + 4096;
    free(bad_ptr);
}
static void double_free(void)
{
    bad_ptr = malloc(32);
    free(bad_ptr);
    free(bad_ptr);
}
static void double_free_later(void)
{
    void *other[8];
    bad_ptr = malloc(64);
    for (int i = 0; i < 8; i++)
        other[i] = malloc(64);
    free(bad_ptr);
    for (int i = 0; i < 8; i++)
        free(other[i]);
    free(bad_ptr);
}
static void realloc_stack(void)
{
    char local[64];
    bad_ptr = local;
    void *p = realloc(bad_ptr, 100);
    (void)p;
}
static void realloc_static(void)
{
    bad_ptr = static_array;
    void *p = realloc(bad_ptr, 10);
    (void)p;
}
static void free_sized_stack(void)
{
    char local[64];
    bad_ptr = local;
    free_sized(bad_ptr, 64);
}
static void usable_stack(void)
{
    char local[64];
    bad_ptr = local;
    volatile size_t n = malloc_usable_size(bad_ptr);
    (void)n;
}
static void malloc_forge_link(void) { forge_link(malloc, free); }
static void malloc_overflow_into_free(void) { overflow_into_free(malloc, free); }
static void malloc_forge_remote_link(void) { forge_remote_link(malloc, free); }
#endif

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--first") == 0) {
        if (strcmp(argv[2], "HmmFree") == 0)
            HmmFree(NOWHERE);
#if HMM_TEST_INTERPOSE
        else
            free(NOWHERE);
#endif
        return 0;
    }
    self = argv[0];
    plan_lazy();
    expect_abort("HmmFree of a bad pointer as the first call into libhmm", hmm_first_call,
                 "HmmFree", "invalid pointer");
    /* From here on libhmm is initialized in every child. */
    HmmFree(HmmAlloc(1));
    expect_abort("HmmFree of a stack address", hmm_free_stack, "HmmFree", "invalid pointer");
    expect_abort("HmmFree of a static array", hmm_free_static, "HmmFree", "invalid pointer");
    expect_abort("HmmFree of a page mapped by the program", hmm_free_mmap, "HmmFree",
                 "invalid pointer");
    expect_abort("HmmFree of an unmapped address", hmm_free_unmapped, "HmmFree", "invalid pointer");
    expect_abort("HmmFree twice (small block)", hmm_double_free, "HmmFree", "double free");
    expect_abort("HmmFree twice with other frees between", hmm_double_free_later, "HmmFree",
                 "double free");
    expect_abort("HmmFree twice with an allocation between", hmm_double_free_sizes, "HmmFree",
                 "double free");
    expect_abort("HmmFree of a pointer inside a small block", hmm_free_inside, "HmmFree",
                 "invalid pointer");
    expect_abort("HmmFree of a block start not carved yet", hmm_free_uncarved, "HmmFree",
                 "invalid pointer");
    expect_abort("HmmFree of a block's address with high bits set", hmm_free_high_bits, "HmmFree",
                 "invalid pointer");
    expect_abort("HmmFree twice in a full slab that is no longer current",
                 hmm_double_free_full_slab, "HmmFree", "double free");
    expect_abort("HmmFree of a pointer inside a block of a full slab", hmm_free_inside_full_slab,
                 "HmmFree", "invalid pointer");
    expect_abort("HmmFree twice in an emptied slab kept as a spare", hmm_double_free_spare_slab,
                 "HmmFree", "double free");
    expect_abort("HmmFree of a pointer inside a block of a spare slab", hmm_free_inside_spare_slab,
                 "HmmFree", "invalid pointer");
    expect_abort("HmmFree twice from another thread", hmm_other_double_free, "HmmFree",
                 "double free");
    expect_abort("HmmFree from another thread of a block its owner freed",
                 hmm_other_free_after_owner, "HmmFree", "double free");
    expect_abort("HmmFree from another thread of a pointer inside a small block",
                 hmm_other_free_inside, "HmmFree", "invalid pointer");
    expect_abort("HmmFree from another thread of a block start not carved yet",
                 hmm_other_free_uncarved, "HmmFree", "invalid pointer");
    expect_abort("HmmFree twice from another thread in a full slab",
                 hmm_other_double_free_full_slab, "HmmFree", "double free");
    expect_abort("HmmFree from another thread of a pointer inside a block of a full slab",
                 hmm_other_free_inside_full_slab, "HmmFree", "invalid pointer");
    expect_abort("HmmFree from another thread of a block in a spare slab",
                 hmm_other_double_free_spare_slab, "HmmFree", "double free");
    expect_abort("HmmFree twice from another thread (large block)", hmm_other_free_large_twice,
                 "HmmFree", "double free");
    expect_abort("HmmFree twice (large block)", hmm_double_free_large, "HmmFree", "double free");
    expect_abort("HmmFree of a pointer inside a large block", hmm_free_inside_large, "HmmFree",
                 "invalid pointer");
    expect_abort("HmmFree of a pointer into a large block's last page",
                 hmm_free_inside_large_last_page, "HmmFree", "invalid pointer");
    expect_abort("HmmRealloc of a stack address", hmm_realloc_stack, "HmmRealloc",
                 "invalid pointer");
    expect_abort("HmmUsableSize of a stack address", hmm_usable_stack, "HmmUsableSize",
                 "invalid pointer");
    expect_abort("HmmAlloc after a freed block's link was forged", hmm_forge_link, "HmmAlloc",
                 "corrupted free list at");
    expect_abort("HmmAlloc after an overflow into a free neighbour", hmm_overflow_into_free,
                 "HmmAlloc", "corrupted free list at");
    expect_abort("HmmAlloc after the link of a block freed by another thread was forged",
                 hmm_forge_remote_link, "HmmAlloc", "corrupted free list at");
#if HMM_TEST_INTERPOSE
    expect_abort("free of a bad pointer as the first call into libhmm", free_first_call, "free",
                 "invalid pointer");
    expect_abort("free of a stack address", free_stack, "free", "invalid pointer");
    expect_abort("free of a pointer never allocated", free_never_allocated, "free",
                 "invalid pointer");
    expect_abort("free of a page mapped by the program", free_mmap, "free", "invalid pointer");
    expect_abort("free twice (small block)", double_free, "free", "double free");
    expect_abort("free twice with other frees between", double_free_later, "free", "double free");
    expect_abort("realloc of a stack address", realloc_stack, "realloc", "invalid pointer");
    expect_abort("realloc of a static array", realloc_static, "realloc", "invalid pointer");
    expect_abort("free_sized of a stack address", free_sized_stack, "free_sized",
                 "invalid pointer");
    expect_abort("malloc_usable_size of a stack address", usable_stack, "malloc_usable_size",
                 "invalid pointer");
    expect_abort("malloc after a freed block's link was forged", malloc_forge_link, "malloc",
                 "corrupted free list at");
    expect_abort("malloc after an overflow into a free neighbour", malloc_overflow_into_free,
                 "malloc", "corrupted free list at");
    expect_abort("malloc after the link of a block freed by another thread was forged",
                 malloc_forge_remote_link, "malloc", "corrupted free list at");
#endif
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
