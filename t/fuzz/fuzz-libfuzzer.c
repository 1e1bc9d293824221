/*
 * fuzz-libfuzzer.c - libFuzzer's entry point over the shadow model of
 * fuzz-model.c: the input's bytes choose the calls, one thread, the Hmm*
 * API only (libFuzzer itself allocates with the C library's malloc, which
 * this build leaves alone).  What an input leaves live is freed at its end
 * and the heap checked, so inputs do not depend on each other.  Built by
 * "make fuzz-libfuzzer" with the allocator's sources compiled in.
 */
#include <stdlib.h>

#include "fuzz-model.h"
#include "core/heap.h"

/* Few slots: short inputs still free and resize what they allocate. */
#define SLOTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer reports the abort with the input that caused it. */
static void on_finding(void) { abort(); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        fz_init(SLOTS, on_finding);
        ready = true;
    }
    fz_source src = {data, size, 0, {0}};
    while (!fz_exhausted(&src))
        fz_step(&src);
    fz_drain();
    hmm_check_heap();
    return 0;
}
