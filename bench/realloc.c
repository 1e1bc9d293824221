/*
 * realloc - buffers grown by realloc.
 *
 * Two growth patterns, interleaved so that neighbours compete:
 *   - string builders: BUILDERS buffers, each grown by a few bytes at a
 *     time with realloc to the exact new length (as naive code does) up to
 *     a random final length of up to 64 KiB, then freed and restarted;
 *   - vectors: buffers doubled from 16 bytes up to 1 MiB, then shrunk back
 *     to a small size with realloc and freed.
 * Contents are a function of (buffer, generation, offset) and are checked
 * after every move at the old end, and in full at the end of a buffer's
 * life.
 */
#include "bench.h"

#define BUILDERS 2000

static inline unsigned char byte_at(uint64_t id, size_t off)
{
    return (unsigned char)((id * 131 + off * 7 + (off >> 8)) & 0xff);
}

static void check_all(const unsigned char *p, size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        bench_check(p[i] == byte_at(id, i), "buffer %llu byte %zu corrupted",
                    (unsigned long long)id, i);
}

struct builder {
    unsigned char *p;
    size_t len, target;
    uint64_t id;
};

static struct builder bld[BUILDERS];

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long steps = bench_scaled(1500000, scale, 10000);
    uint64_t rng = 17, sum = 0, next_id = 1;

    for (long s = 0; s < steps; s++) {
        struct builder *b = &bld[rng_next(&rng) % BUILDERS];
        if (!b->p) {
            b->id = next_id++;
            b->len = 0;
            b->target = rng_range(&rng, 64, 65536);
        }
        size_t add = rng_range(&rng, 1, 24);
        b->p = xrealloc(b->p, b->len + add);
        if (b->len)
            bench_check(b->p[b->len - 1] == byte_at(b->id, b->len - 1),
                        "builder %llu lost its tail", (unsigned long long)b->id);
        for (size_t i = 0; i < add; i++)
            b->p[b->len + i] = byte_at(b->id, b->len + i);
        b->len += add;
        if (b->len >= b->target) {
            check_all(b->p, b->len, b->id);
            sum += b->len;
            free(b->p);
            b->p = NULL;
        }
        if (s % 512 == 0) {
            /* A vector doubled up to 1 MiB, then shrunk. */
            uint64_t id = next_id++;
            size_t len = 0, cap = 16;
            unsigned char *v = xmalloc(cap);
            size_t limit = (size_t)1 << rng_range(&rng, 12, 20);
            while (cap < limit) {
                for (; len < cap; len++)
                    v[len] = byte_at(id, len);
                cap *= 2;
                v = xrealloc(v, cap);
                bench_check(v[len - 1] == byte_at(id, len - 1) && v[0] == byte_at(id, 0),
                            "vector %llu lost data", (unsigned long long)id);
            }
            v = xrealloc(v, 100);
            check_all(v, 100, id);
            sum += cap;
            free(v);
        }
    }
    for (int i = 0; i < BUILDERS; i++) {
        if (bld[i].p) {
            check_all(bld[i].p, bld[i].len, bld[i].id);
            sum += bld[i].len;
            free(bld[i].p);
        }
    }
    bench_ok("realloc", sum);
    return 0;
}
