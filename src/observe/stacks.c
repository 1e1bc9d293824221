/*
 * stacks.c - the table of distinct call stacks: a fixed array of hash
 * buckets holding chains of records, the records cut from memory mapped
 * for the purpose (never malloc).  A record never changes once it is in
 * its bucket, so lookups take no lock; adding one takes the table's lock.
 * Also what the leak report and the heap profile share: summing by stack,
 * sorting, and naming a stack's frames.
 */
#include "observe/stacks.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/os.h"
#include "core/heap.h"

#define ARENA_SIZE ((size_t)1 << 20)

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_stack **buckets; /* mapped on first use */
static size_t bucket_mask;  /* its size less one, stored before it */
static hmm_stack *last;
static char *arena, *arena_end;

static uint64_t hash_of(void *const *pc, unsigned depth)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ depth;
    for (unsigned i = 0; i < depth; i++) {
        h ^= (uintptr_t)pc[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

static hmm_stack *find(hmm_stack *s, uint64_t h, void *const *pc, unsigned depth)
{
    for (; s; s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
        if (s->hash == h && s->depth == depth && memcmp(s->pc, pc, depth * sizeof *pc) == 0)
            return s;
    return NULL;
}

/* Room for a record of depth frames, under the table's lock. */
static hmm_stack *arena_take(unsigned depth)
{
    size_t size = hmm_align_up(sizeof(hmm_stack) + depth * sizeof(void *), 16);
    if ((size_t)(arena_end - arena) < size) {
        arena = hmm_os_map_aligned(ARENA_SIZE, HMM_PAGE_SIZE);
        if (!arena)
            return NULL;
        arena_end = arena + ARENA_SIZE;
    }
    hmm_stack *s = (hmm_stack *)arena;
    arena += size;
    return s;
}

hmm_stack *hmm_stack_intern(void *const *pc, unsigned depth)
{
    uint64_t h = hash_of(pc, depth);
    hmm_stack **table = __atomic_load_n(&buckets, __ATOMIC_ACQUIRE);
    hmm_stack *s =
        table ? find(__atomic_load_n(&table[h & bucket_mask], __ATOMIC_ACQUIRE), h, pc, depth)
              : NULL;
    if (s)
        return s;
    pthread_mutex_lock(&table_lock);
    if (!buckets) {
        /* Leaks mode stores the stack of every call site that allocates (a
         * big program has tens of thousands), the heap profile only those
         * sampled (a few hundred): a profile's table of 512 KiB, as leaks
         * mode's, would be touched a page for each stack it holds. */
        size_t n = hmm_opt.leaks ? (size_t)1 << 16 : (size_t)1 << 12;
        bucket_mask = n - 1;
        __atomic_store_n(&buckets, hmm_os_map_aligned(n * sizeof *buckets, HMM_PAGE_SIZE),
                         __ATOMIC_RELEASE);
    }
    /* Again: another thread may have added it since. */
    if (buckets && !(s = find(buckets[h & bucket_mask], h, pc, depth)) && (s = arena_take(depth))) {
        memset(s, 0, sizeof *s);
        s->hash = h;
        s->depth = depth;
        memcpy(s->pc, pc, depth * sizeof *pc);
        s->next = buckets[h & bucket_mask];
        s->all = last;
        __atomic_store_n(&buckets[h & bucket_mask], s, __ATOMIC_RELEASE);
        __atomic_store_n(&last, s, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&table_lock);
    return s;
}

hmm_stack *hmm_stack_last(void) { return __atomic_load_n(&last, __ATOMIC_ACQUIRE); }

void hmm_stacks_atfork(enum hmm_fork_phase phase)
{
    hmm_backtrace_atfork(phase);
    if (phase == HMM_FORK_PREPARE) {
        pthread_mutex_lock(&table_lock);
        return;
    }
    pthread_mutex_unlock(&table_lock);
    /* Not held across fork (a report may take long, and allocates): a
     * thread writing one is gone from the child, which must be able to
     * write its own. */
    if (phase == HMM_FORK_CHILD)
        report_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

bool hmm_stacks_begin(void)
{
    if (hmm_tls_untracked)
        return false;
    hmm_tls_untracked = true;
    pthread_mutex_lock(&report_lock);
    for (hmm_stack *s = hmm_stack_last(); s; s = s->all)
        s->count = s->bytes = s->samples = s->sampled_bytes = 0;
    return true;
}

void hmm_stacks_end(void)
{
    pthread_mutex_unlock(&report_lock);
    hmm_tls_untracked = false;
}

static int by_bytes(const void *a, const void *b)
{
    const hmm_stack *x = *(hmm_stack *const *)a, *y = *(hmm_stack *const *)b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

hmm_stack **hmm_stacks_sorted(size_t *n)
{
    *n = 0;
    for (hmm_stack *s = hmm_stack_last(); s; s = s->all)
        *n += s->bytes != 0;
    hmm_stack **v = *n ? hmm_alloc(*n * sizeof *v, "malloc") : NULL;
    if (!v) {
        *n = 0;
        return NULL;
    }
    size_t i = 0;
    for (hmm_stack *s = hmm_stack_last(); s && i < *n; s = s->all)
        if (s->bytes)
            v[i++] = s;
    *n = i;
    qsort(v, i, sizeof *v, by_bytes);
    return v;
}

void hmm_stacks_free(hmm_stack **v) { hmm_free(v, "free"); }

hmm_symbolizer *hmm_stacks_symbolizer(bool lines, hmm_stack *const *v, size_t n)
{
    size_t frames = 0;
    for (size_t i = 0; i < n; i++)
        frames += v[i]->depth;
    void **pc = frames ? hmm_alloc(frames * sizeof *pc, "malloc") : NULL;
    if (!pc)
        return NULL;
    frames = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned j = 0; j < v[i]->depth; j++)
            pc[frames++] = v[i]->pc[j];
    hmm_symbolizer *sym = hmm_symbolizer_open(lines, pc, frames);
    hmm_free(pc, "free");
    return sym;
}

unsigned hmm_stacks_frames(hmm_symbolizer *sym, const hmm_stack *s, hmm_frame *out, void **pc)
{
    /* libhmm's frames come first (which only a symbolizer tells apart). */
    unsigned i = 0, n = 0;
    bool ours = true;
    for (; i < s->depth; i++) {
        if (sym)
            hmm_symbolize(sym, s->pc[i], &out[n]);
        else
            out[n] = (hmm_frame){NULL, NULL, 0, false};
        if (ours && out[n].in_libhmm)
            continue;
        ours = false;
        pc[n++] = s->pc[i];
    }
    return n;
}
