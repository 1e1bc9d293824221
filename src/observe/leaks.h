/*
 * leaks.h - leaks mode (HMM_LEAKS=1, hmm-run --leaks): every block is
 * recorded with the stack that allocated it, and the blocks still
 * allocated at exit are reported, grouped by stack.  Like secure mode it
 * keeps the fast paths' heap at hmm_heap_empty, so every call reaches a
 * slow path that calls these; the default mode pays nothing.
 */
#ifndef HMM_LEAKS_H
#define HMM_LEAKS_H

#include "observe/backtrace.h"

/* Records block p of size bytes, allocated by the calling thread now. */
void hmm_leaks_alloc(void *p, size_t size);
/* Forgets block p (being freed). */
void hmm_leaks_free(void *p);
/* Block p was resized in place by realloc to size bytes, and is at q now. */
void hmm_leaks_moved(void *p, void *q, size_t size);
void hmm_leaks_atfork(enum hmm_fork_phase phase);

#endif
