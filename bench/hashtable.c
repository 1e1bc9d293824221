/*
 * hashtable - a string-keyed hash table built and torn down.
 *
 * Separate chaining; every entry and every key and value string is its own
 * block; the bucket array doubles (a new array, entries relinked, the old
 * one freed) as the table fills.  Each round inserts keys (some repeated:
 * the value is replaced, its old string freed), looks all of them up,
 * deletes a third, checks the survivors, and frees the whole table.
 */
#include "bench.h"

struct entry {
    struct entry *next;
    uint64_t hash;
    char *key;
    char *val;
};

struct table {
    struct entry **b;
    size_t nb, n;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static char *make_key(uint64_t k)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "key-%llu-%s", (unsigned long long)k,
                     &"abcdefghijklmnopqrstuvwxyz"[k % 26]);
    char *s = xmalloc((size_t)n + 1);
    memcpy(s, buf, (size_t)n + 1);
    return s;
}

static char *make_val(uint64_t k, uint64_t version)
{
    size_t len = 8 + (size_t)((k * 7 + version) % 120);
    char *s = xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)('A' + (k + version + i) % 26);
    s[len] = '\0';
    return s;
}

static void check_val(const char *s, uint64_t k, uint64_t version)
{
    size_t len = 8 + (size_t)((k * 7 + version) % 120);
    bench_check(strlen(s) == len, "value length for key %llu",
                (unsigned long long)k);
    bench_check(s[len - 1] == (char)('A' + (k + version + len - 1) % 26),
                "value of key %llu corrupted", (unsigned long long)k);
}

static void grow(struct table *t)
{
    size_t nb = t->nb ? t->nb * 2 : 16;
    struct entry **b = calloc(nb, sizeof *b);
    bench_check(b != NULL, "calloc");
    for (size_t i = 0; i < t->nb; i++) {
        struct entry *e = t->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
}

static struct entry **lookup(struct table *t, const char *key, uint64_t h)
{
    struct entry **e = &t->b[h & (t->nb - 1)];
    while (*e && ((*e)->hash != h || strcmp((*e)->key, key) != 0))
        e = &(*e)->next;
    return e;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    long rounds = bench_scaled(4, scale, 1);
    long n = scale < 0.1 ? 20000 : 200000;
    uint64_t sum = 0;
    /* versions[k]: the version of key k's value, 0 when absent. */
    uint64_t *versions = xmalloc((size_t)n * sizeof *versions);

    for (long r = 0; r < rounds; r++) {
        struct table t = {0};
        grow(&t);
        memset(versions, 0, (size_t)n * sizeof *versions);
        uint64_t rng = 5 + (uint64_t)r;
        for (long i = 0; i < n; i++) {
            uint64_t k = rng_next(&rng) % (uint64_t)(n * 3 / 4);
            char *key = make_key(k);
            uint64_t h = hash_str(key);
            struct entry **e = lookup(&t, key, h);
            if (*e) {
                check_val((*e)->val, k, versions[k]);
                free((*e)->val);
                (*e)->val = make_val(k, ++versions[k]);
                free(key);
                continue;
            }
            struct entry *ne = xmalloc(sizeof *ne);
            ne->next = NULL;
            ne->hash = h;
            ne->key = key;
            ne->val = make_val(k, versions[k] = 1);
            *e = ne;
            if (++t.n > t.nb)
                grow(&t);
        }
        long present = 0;
        for (long k = 0; k < n; k++) {
            char *key = make_key((uint64_t)k);
            uint64_t h = hash_str(key);
            struct entry **e = lookup(&t, key, h);
            bench_check((*e != NULL) == (versions[k] != 0), "key %ld membership", k);
            if (*e) {
                present++;
                check_val((*e)->val, (uint64_t)k, versions[k]);
                sum += versions[k];
                if (k % 3 == 0) {
                    struct entry *dead = *e;
                    *e = dead->next;
                    free(dead->key);
                    free(dead->val);
                    free(dead);
                    t.n--;
                    versions[k] = 0;
                }
            }
            free(key);
        }
        size_t left = 0;
        for (size_t i = 0; i < t.nb; i++) {
            struct entry *e = t.b[i], *next;
            for (; e; e = next) {
                next = e->next;
                bench_check(strncmp(e->key, "key-", 4) == 0, "key corrupted");
                uint64_t k = strtoull(e->key + 4, NULL, 10);
                bench_check(k < (uint64_t)n && versions[k] != 0 && k % 3 != 0,
                            "stray key %s", e->key);
                check_val(e->val, k, versions[k]);
                free(e->key);
                free(e->val);
                free(e);
                left++;
            }
        }
        bench_check(left == t.n, "table holds %zu entries, want %zu", left, t.n);
        free(t.b);
        sum += (uint64_t)present * 3 + left;
    }
    free(versions);
    bench_ok("hashtable", sum);
    return 0;
}
