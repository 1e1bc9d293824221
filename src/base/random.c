/*
 * random.c - the per-process secret and the threads' random generators.
 */
#include "base/random.h"

#include "base/os.h"

uintptr_t hmm_secret;

static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

void hmm_random_init(void) { hmm_secret = (uintptr_t)hmm_os_random() | 1; }

uint64_t hmm_random(void)
{
    /* Seeded per thread from the secret and the thread's own TLS
     * address. */
    uint64_t x = rng;
    if (hmm_unlikely(x == 0))
        x = (hmm_secret ^ (uintptr_t)&rng) | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 0x2545f4914f6cdd1dULL;
}
