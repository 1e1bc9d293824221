/*
 * fuzz-model.h - the shadow model both fuzzers drive (t/fuzz/fuzz.c with
 * threads and a seed, t/fuzz/fuzz-libfuzzer.c with libFuzzer's input
 * bytes): a table of slots holding live blocks with their requested size,
 * alignment and content tag, the random choice of calls and sizes, and the
 * checks made on every call.  A finding is reported on stderr and then handed to the driver's
 * hook, which does not return.
 */
#ifndef HMM_FUZZ_MODEL_H
#define HMM_FUZZ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "testlib.h"

#define FZ_MAX_SLOTS 1024

/* Where the model's choices come from: the bytes of data when it is not
 * NULL (then 0 once they run out), else the generator r. */
typedef struct fz_source {
    const uint8_t *data;
    size_t len, pos;
    rng r;
} fz_source;

/* nslots (at most FZ_MAX_SLOTS) slots shared by every thread; on_finding
 * runs after a finding is printed and must not return. */
void fz_init(unsigned nslots, void (*on_finding)(void));
/* One random call on a random slot (thread-safe). */
void fz_step(fz_source *src);
/* Checks and frees every live block. */
void fz_drain(void);
/* True once a byte source has been read to its end. */
static inline bool fz_exhausted(const fz_source *src)
{
    return src->data != NULL && src->pos >= src->len;
}

#endif
