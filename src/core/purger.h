/*
 * purger.h - the background purger: a thread that gives idle free memory
 * back while the program makes no allocator call.
 */
#ifndef HMM_PURGER_H
#define HMM_PURGER_H

#include "base/internal.h"

/* Dirty free bytes a heap (or the huge cache) must hold before the purger
 * is woken for it: less waits for the owner's next slow path, as before. */
#define HMM_PURGER_MIN ((size_t)4 << 20)

enum hmm_purger_state {
    HMM_PURGER_OFF,      /* not started (or in a fork child) */
    HMM_PURGER_STARTING, /* a thread is creating it */
    HMM_PURGER_AWAKE,    /* makes a pass every half purge delay */
    HMM_PURGER_IDLE,     /* sleeps until kicked */
    HMM_PURGER_DISABLED, /* HMM_PURGE_THREAD=0, or the thread could not start */
};
extern int hmm_purger_state HMM_HIDDEN;

void hmm_purger_kick_slow(void);

/* Tells the purger there is memory to watch: starts it on the first call
 * (unless HMM_PURGE_THREAD=0), wakes it when it sleeps with nothing to do.
 * A load and a branch while it is awake.  Must not be called with a lock of
 * libhmm held: starting a thread allocates (glibc's thread descriptor). */
hmm_inline void hmm_purger_kick(void)
{
    if (__atomic_load_n(&hmm_purger_state, __ATOMIC_SEQ_CST) != HMM_PURGER_AWAKE)
        hmm_purger_kick_slow();
}

/* Fork handlers: called first in the prepare handler, last in the others. */
void hmm_purger_fork_prepare(void);
void hmm_purger_fork_parent(void);
void hmm_purger_fork_child(void);

#endif
