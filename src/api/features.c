/*
 * features.c - the one place that wires the features to the core: at
 * set-up, once the options are read and before the first allocation is
 * served, the hook table is filled from the features the options turn on
 * (core/hooks.h); when libhmm is loaded, the libraries that tracking needs
 * are loaded, and what cannot be had is turned off.
 *
 * Several features may be on at once.  Each fills its own hooks; where two
 * want the same one, a function here calls both, in the order given.
 * Secure mode's shortcuts past the general slow paths (alloc_small,
 * free_owned) are dropped when an observer must see those calls.
 */
#include "api/features.h"

#include "base/options.h"
#include "core/heap.h"
#include "observe/backtrace.h"
#include "observe/blockmap.h"
#include "observe/heapmap.h"
#include "observe/leaks.h"
#include "observe/profile.h"
#include "observe/stacks.h"
#include "secure/secure.h"

/* The hooks' allocated with both leaks mode and the heap profile on. */
static void allocated_both(void *p, size_t size)
{
    hmm_profile_poll(p, size);
    hmm_leaks_alloc(p, size);
}

/* The hooks' fork with stacks being taken: the stack store's lock and the
 * block maps', the store first at a fork and last after it (a thread
 * taking a stack may allocate before it lets go of the store's lock). */
static void fork_tracking(enum hmm_fork_phase phase)
{
    if (phase == HMM_FORK_PREPARE)
        hmm_stacks_atfork(phase);
    hmm_blockmap_atfork(phase);
    if (phase != HMM_FORK_PREPARE)
        hmm_stacks_atfork(phase);
}

/* The table the options ask for. */
static void build(hmm_hook_table *t)
{
    *t = (hmm_hook_table){0};
    bool tracking = hmm_opt.leaks || hmm_opt.profile;
    if (hmm_opt.secure) {
        hmm_secure_wire(t);
        if (tracking)
            t->alloc_small = NULL;
        if (hmm_opt.leaks)
            t->free_owned = false;
    }
    if (hmm_opt.leaks)
        hmm_leaks_wire(t);
    if (hmm_opt.profile) {
        hmm_profile_wire(t);
        if (hmm_opt.leaks)
            t->allocated = allocated_both;
    }
    if (tracking) {
        t->thread_start = hmm_backtrace_thread_start;
        t->fork = fork_tracking;
    }
    if (hmm_opt.heap_map[0])
        hmm_heap_map_wire(t);
}

static void setup(void)
{
    hmm_hook_table t;
    build(&t);
    if (hmm_opt.profile)
        hmm_profile_init();
    hmm_hooks_install(&t);
}
HMM_AT_SETUP(setup);

/* Loading here rather than at the first allocation: dlopen allocates, and
 * the first allocation may come from anywhere (the dynamic loader with its
 * lock held, a libc function holding one of its own); a constructor runs
 * where dlopen may.  What is allocated meanwhile is not tracked. */
void hmm_features_start(void)
{
    if (!hmm_heap_init() || !(hmm_opt.leaks || hmm_opt.profile))
        return;
    hmm_tls_untracked = true; /* the loader's allocations are not the program's */
    /* libm first: a sample can be taken as soon as the unwinders are
     * loaded, and weighing it needs libm. */
    bool off = false;
    if (hmm_opt.profile && !hmm_profile_load())
        hmm_opt.profile = false, off = true;
    if ((hmm_opt.leaks || hmm_opt.profile) && !hmm_backtrace_load())
        hmm_opt.leaks = hmm_opt.profile = false, off = true;
    hmm_tls_untracked = false;
    hmm_backtrace_thread_start();
    /* What was turned off loses its hooks: with leaks mode off, this
     * thread's heap may take the fast paths. */
    if (off) {
        hmm_hook_table t;
        build(&t);
        hmm_hooks_install(&t);
    }
}
