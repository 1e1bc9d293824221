/*
 * leaks.h - leaks mode (HMM_LEAKS=1, hmm-run --leaks): every block is
 * recorded with the stack that allocated it, and the blocks still
 * allocated at exit are reported, grouped by stack.  An observer on the
 * core's hooks that wants every call (the fast paths never succeed); the
 * default mode pays nothing.
 */
#ifndef HMM_LEAKS_H
#define HMM_LEAKS_H

#include "core/hooks.h"

/* Sets leaks mode's hooks in t (HMM_LEAKS set). */
void hmm_leaks_wire(hmm_hook_table *t);
/* The hooks' allocated: records block p of size bytes, allocated by the
 * calling thread now. */
void hmm_leaks_alloc(void *p, size_t size);

#endif
