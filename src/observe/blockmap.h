/*
 * blockmap.h - a map from a block's address to the stack that allocated
 * it and its size: every live block in leaks mode, the sampled ones for
 * the heap profile.
 */
#ifndef HMM_BLOCKMAP_H
#define HMM_BLOCKMAP_H

#include <pthread.h>

#include "observe/backtrace.h"
#include "observe/stacks.h"

#define HMM_BLOCKMAP_SHARDS 64

typedef struct hmm_block_rec {
    uintptr_t addr; /* 0: empty slot; 1: removed */
    hmm_stack *stack;
    uint64_t size; /* as asked for */
} hmm_block_rec;

/* Open addressing, one table per shard (picked by address), each with
 * its own lock, so threads seldom wait for each other. */
typedef struct hmm_blockmap {
    struct hmm_blockmap_shard {
        pthread_mutex_t lock;
        hmm_block_rec *slots;     /* mapped; NULL until the first record */
        size_t cap, live, filled; /* filled: live and removed slots */
        char pad_[8];
    } shard[HMM_BLOCKMAP_SHARDS];
    /* In the list of maps that hold records (hmm_blockmap_atfork). */
    struct hmm_blockmap *next_used;
    bool used;
} hmm_blockmap;

#define HMM_BLOCKMAP_INIT                                                                          \
    {                                                                                              \
        .shard = { [0 ... HMM_BLOCKMAP_SHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER} }         \
    }

/* Records block addr; false when out of memory (the block goes
 * unrecorded). */
bool hmm_blockmap_put(hmm_blockmap *m, uintptr_t addr, hmm_stack *stack, uint64_t size);
/* Removes addr's record into *out; false when there is none. */
bool hmm_blockmap_take(hmm_blockmap *m, uintptr_t addr, hmm_block_rec *out);
/* Calls fn on every record, one shard locked at a time: fn must neither
 * allocate nor touch the map. */
void hmm_blockmap_each(hmm_blockmap *m, void (*fn)(const hmm_block_rec *r, void *arg), void *arg);
/* Keeps fork from splitting an update of any map that holds records: the
 * features' fork hook, for all of them. */
void hmm_blockmap_atfork(enum hmm_fork_phase phase);

#endif
