/*
 * bintree - binary trees built and torn down.
 *
 * Two parts per round: (1) the classic binary-trees workload: a
 * long-lived tree, then many perfect trees of growing depth built,
 * checked by a node-count walk and freed; (2) a binary search tree of
 * random keys, each node carrying a malloc'd string value, searched,
 * half deleted (with the usual successor splice) and torn down.
 */
#include "bench.h"

struct tnode {
    struct tnode *l, *r;
};

static struct tnode *perfect(int depth)
{
    struct tnode *n = xmalloc(sizeof *n);
    if (depth > 0) {
        n->l = perfect(depth - 1);
        n->r = perfect(depth - 1);
    } else {
        n->l = n->r = NULL;
    }
    return n;
}

static long walk(const struct tnode *n)
{
    return n->l ? 1 + walk(n->l) + walk(n->r) : 1;
}

static void tfree(struct tnode *n)
{
    if (n->l) {
        tfree(n->l);
        tfree(n->r);
    }
    free(n);
}

struct bst {
    struct bst *l, *r;
    uint64_t key;
    char *val;
};

static void val_make(struct bst *n)
{
    size_t len = 4 + (size_t)(n->key % 60);
    n->val = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        n->val[i] = (char)('a' + (n->key >> (i % 50)) % 26);
    n->val[len] = '\0';
}

static uint64_t val_check(const struct bst *n)
{
    size_t len = 4 + (size_t)(n->key % 60);
    bench_check(strlen(n->val) == len, "bst value length");
    bench_check(n->val[len - 1] == (char)('a' + (n->key >> ((len - 1) % 50)) % 26),
                "bst value corrupted");
    return len;
}

static struct bst **bst_find(struct bst **slot, uint64_t key)
{
    while (*slot && (*slot)->key != key)
        slot = key < (*slot)->key ? &(*slot)->l : &(*slot)->r;
    return slot;
}

static void bst_delete(struct bst **slot)
{
    struct bst *n = *slot;
    if (!n->l) {
        *slot = n->r;
    } else if (!n->r) {
        *slot = n->l;
    } else {
        struct bst **s = &n->r;
        while ((*s)->l)
            s = &(*s)->l;
        struct bst *succ = *s;
        *s = succ->r;
        succ->l = n->l;
        succ->r = n->r;
        *slot = succ;
    }
    val_check(n);
    free(n->val);
    free(n);
}

static uint64_t bst_drop(struct bst *n, long *count)
{
    if (!n)
        return 0;
    uint64_t s = bst_drop(n->l, count) + bst_drop(n->r, count) + val_check(n);
    ++*count;
    free(n->val);
    free(n);
    return s;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long rounds = bench_scaled(2, scale, 1);
    double frac = scale * 2 < 1 ? scale * 2 : 1; /* quick runs: part of a round */
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        struct tnode *longlived = perfect(16);
        for (int d = 4; d <= 16; d += 2) {
            long iters = (long)((double)(1L << (16 - d + 4)) * frac) + 1;
            for (long i = 0; i < iters; i++) {
                struct tnode *t = perfect(d);
                long c = walk(t);
                bench_check(c == (2L << d) - 1, "tree of depth %d has %ld nodes", d, c);
                sum += (uint64_t)c;
                tfree(t);
            }
        }
        bench_check(walk(longlived) == (2L << 16) - 1, "long-lived tree");
        tfree(longlived);

        uint64_t rng = 99 + (uint64_t)r;
        struct bst *root = NULL;
        long n = (long)(200000 * frac) + 10, inserted = 0;
        for (long i = 0; i < n; i++) {
            uint64_t key = rng_next(&rng) % (4 * (uint64_t)n);
            struct bst **slot = bst_find(&root, key);
            if (*slot)
                continue;
            struct bst *b = xmalloc(sizeof *b);
            b->l = b->r = NULL;
            b->key = key;
            val_make(b);
            *slot = b;
            inserted++;
        }
        rng = 99 + (uint64_t)r;
        long found = 0, deleted = 0;
        for (long i = 0; i < n; i++) {
            uint64_t key = rng_next(&rng) % (4 * (uint64_t)n);
            struct bst **slot = bst_find(&root, key);
            if (!*slot)
                continue; /* a repeated key deleted earlier */
            found++;
            if (i & 1) {
                bst_delete(slot);
                deleted++;
            }
        }
        long left = 0;
        sum += (uint64_t)found * 7 + bst_drop(root, &left);
        bench_check(left == inserted - deleted, "bst holds %ld nodes, want %ld",
                    left, inserted - deleted);
        sum += (uint64_t)left;
    }
    bench_ok("bintree", sum);
    return 0;
}
