/*
 * fastpath - N malloc+free pairs, for counting instructions per pair.
 *
 * Usage: fastpath N [32|mix]
 *   32   N pairs of malloc(32); free
 *   mix  N pairs cycling through sizes 16, 48, 100, 256
 * bench/run-fastpath runs it under callgrind for two values of N and
 * divides the difference in instructions by the difference in N, which
 * cancels start-up and the allocator's initialization.
 */
#include "bench.h"

/* Keeps the compiler from seeing through the pair. */
static inline void sink(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s N [32|mix]\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    int mix = argc > 2 && strcmp(argv[2], "mix") == 0;
    static const size_t sizes[4] = {16, 48, 100, 256};
    /* Warm up: the first pairs take the allocator's slow paths. */
    for (int i = 0; i < 4; i++) {
        void *p = xmalloc(sizes[i]);
        sink(p);
        free(p);
    }
    if (mix) {
        for (long i = 0; i < n; i++) {
            void *p = malloc(sizes[i & 3]);
            sink(p);
            free(p);
        }
    } else {
        for (long i = 0; i < n; i++) {
            void *p = malloc(32);
            sink(p);
            free(p);
        }
    }
    printf("fastpath ok %ld\n", n);
    return 0;
}
