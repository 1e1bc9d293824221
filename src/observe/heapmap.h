/*
 * heapmap.h - HMM_HEAP_MAP: the stream of samples and page snapshots that
 * hmm-run --heap-map draws (heapmap.c; the format is in libhmm(7)).  An
 * observer on the core's tick hook, at every allocating slow call.
 */
#ifndef HMM_HEAPMAP_H
#define HMM_HEAPMAP_H

#include "core/hooks.h"

/* Sets the heap map's hooks in t (HMM_HEAP_MAP set). */
void hmm_heap_map_wire(hmm_hook_table *t);

#endif
