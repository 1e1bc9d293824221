/*
 * blockmap.c - the address-to-record maps of leaks mode and the heap
 * profile: sharded open-addressing hash tables (linear probing, removed
 * slots marked and dropped when the table is rebuilt) in memory mapped
 * through os.c, never malloc, since they are filled from inside it.
 */
#include "observe/blockmap.h"

#include "base/os.h"

#define EMPTY 0
#define REMOVED 1
/* A shard's first table fills a page: the profile keeps a few hundred
 * records in all, and with 1024 slots (24 KiB) a shard, its 64 shards'
 * tables cost a short process about 420 page faults, and half a million
 * instructions to walk at exit. */
#define MIN_CAP ((size_t)128)

static uint64_t hash_of(uintptr_t addr)
{
    /* Blocks are 16-byte aligned: the low bits say nothing. */
    return (uint64_t)(addr >> 4) * 0x9e3779b97f4a7c15u;
}

static struct hmm_blockmap_shard *shard_of(hmm_blockmap *m, uint64_t h)
{
    return &m->shard[h >> (64 - 6)];
}

static hmm_block_rec *probe(struct hmm_blockmap_shard *sh, uintptr_t addr, uint64_t h, bool insert)
{
    size_t mask = sh->cap - 1;
    hmm_block_rec *removed = NULL;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        hmm_block_rec *r = &sh->slots[i];
        if (r->addr == addr)
            return r;
        if (r->addr == REMOVED && !removed)
            removed = r;
        if (r->addr == EMPTY)
            return insert ? (removed ? removed : r) : NULL;
    }
}

/* Rebuilds the shard's table with room for twice its live records. */
static bool rebuild(struct hmm_blockmap_shard *sh)
{
    size_t cap = MIN_CAP;
    while (cap < sh->live * 4)
        cap *= 2;
    size_t bytes = hmm_align_up(cap * sizeof(hmm_block_rec), HMM_PAGE_SIZE);
    hmm_block_rec *slots = hmm_os_map_aligned(bytes, HMM_PAGE_SIZE);
    if (!slots)
        return false;
    hmm_block_rec *old = sh->slots;
    size_t old_cap = sh->cap;
    sh->slots = slots;
    sh->cap = cap;
    sh->filled = sh->live;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].addr > REMOVED)
            *probe(sh, old[i].addr, hash_of(old[i].addr), true) = old[i];
    if (old)
        hmm_os_unmap(old, hmm_align_up(old_cap * sizeof(hmm_block_rec), HMM_PAGE_SIZE));
    return true;
}

/* The maps that hold records, for hmm_blockmap_atfork. */
static pthread_mutex_t used_lock = PTHREAD_MUTEX_INITIALIZER;
static hmm_blockmap *used_maps;

static void note_used(hmm_blockmap *m)
{
    pthread_mutex_lock(&used_lock);
    if (!m->used) {
        m->next_used = used_maps;
        used_maps = m;
        __atomic_store_n(&m->used, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&used_lock);
}

bool hmm_blockmap_put(hmm_blockmap *m, uintptr_t addr, hmm_stack *stack, uint64_t size)
{
    if (hmm_unlikely(!__atomic_load_n(&m->used, __ATOMIC_ACQUIRE)))
        note_used(m);
    uint64_t h = hash_of(addr);
    struct hmm_blockmap_shard *sh = shard_of(m, h);
    pthread_mutex_lock(&sh->lock);
    /* At most half full, removed slots included, so probes stay short. */
    bool ok = (sh->filled + 1) * 2 <= sh->cap || rebuild(sh);
    if (ok) {
        hmm_block_rec *r = probe(sh, addr, h, true);
        if (r->addr != addr) {
            sh->filled += r->addr == EMPTY;
            sh->live++;
        }
        *r = (hmm_block_rec){addr, stack, size};
    }
    pthread_mutex_unlock(&sh->lock);
    return ok;
}

bool hmm_blockmap_take(hmm_blockmap *m, uintptr_t addr, hmm_block_rec *out)
{
    uint64_t h = hash_of(addr);
    struct hmm_blockmap_shard *sh = shard_of(m, h);
    pthread_mutex_lock(&sh->lock);
    hmm_block_rec *r = sh->slots ? probe(sh, addr, h, false) : NULL;
    if (r) {
        *out = *r;
        r->addr = REMOVED;
        sh->live--;
    }
    pthread_mutex_unlock(&sh->lock);
    return r != NULL;
}

void hmm_blockmap_each(hmm_blockmap *m, void (*fn)(const hmm_block_rec *r, void *arg), void *arg)
{
    for (unsigned i = 0; i < HMM_BLOCKMAP_SHARDS; i++) {
        struct hmm_blockmap_shard *sh = &m->shard[i];
        pthread_mutex_lock(&sh->lock);
        for (size_t j = 0; j < sh->cap; j++)
            if (sh->slots[j].addr > REMOVED)
                fn(&sh->slots[j], arg);
        pthread_mutex_unlock(&sh->lock);
    }
}

void hmm_blockmap_atfork(enum hmm_fork_phase phase)
{
    if (phase == HMM_FORK_PREPARE)
        pthread_mutex_lock(&used_lock);
    for (hmm_blockmap *m = used_maps; m; m = m->next_used)
        for (unsigned i = 0; i < HMM_BLOCKMAP_SHARDS; i++) {
            if (phase == HMM_FORK_PREPARE)
                pthread_mutex_lock(&m->shard[i].lock);
            else
                pthread_mutex_unlock(&m->shard[i].lock);
        }
    if (phase != HMM_FORK_PREPARE)
        pthread_mutex_unlock(&used_lock);
}
