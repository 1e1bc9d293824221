/*
 * pprof.h - the heap profile in the text format that pprof reads
 * (HMM_PROFILE's FILE.heap).
 */
#ifndef HMM_PPROF_H
#define HMM_PPROF_H

#include "base/diag.h"
#include "observe/stacks.h"

/* Writes to out the n stacks of v as a heap profile in the format of
 * gperftools' heap profiler: for each, its samples still allocated
 * (samples, sampled_bytes) and those taken since the start
 * (alloc_samples, alloc_sampled_bytes), as taken; then the process's
 * memory map.  sym tells libhmm's frames apart (NULL: all are kept). */
void hmm_pprof_format(hmm_out *out, hmm_symbolizer *sym, hmm_stack *const *v, size_t n);

#endif
