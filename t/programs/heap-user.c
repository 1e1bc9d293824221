/*
 * heap-user.c - the program the tests of hmm-run --compare and --heap-map
 * run (t/programs/compare.sh, t/programs/heap-map.sh): linked with neither
 * libhmm library, so it runs on whatever allocator is preloaded.
 *
 * Usage: heap-user [N]
 * Allocates N blocks (default 0) of mixed sizes, small and large, frees
 * every other one, then prints malloc_usable_size(malloc(1)): an answer
 * that differs from one allocator to another.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    void **blocks = calloc(n + 1, sizeof *blocks);
    if (!blocks)
        return 1;
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        /* Mostly small blocks of every class, one in 64 a large one. */
        size_t size = i % 64 == 63 ? 20000 + x % 200000 : 16 + x % 3000;
        blocks[i] = malloc(size);
        if (!blocks[i])
            return 1;
        memset(blocks[i], 1, size);
    }
    for (size_t i = 0; i < n; i += 2)
        free(blocks[i]);
    printf("%zu\n", malloc_usable_size(malloc(1)));
    return 0;
}
