/*
 * list.c - the intrusive doubly linked list of src/base/list.h on its own:
 * every operation, its edge cases, and a long random sequence checked
 * against a plain array model.
 */
#include <stdbool.h>
#include <stdio.h>

#include "base/list.h"
#include "tap.h"
#include "testlib.h"

typedef struct item {
    int value;
    hmm_list node;
} item;

/* True when the list holds exactly the values in want[0..n), in order,
 * walking both forwards and backwards. */
static bool list_is(const hmm_list *l, const int *want, size_t n)
{
    size_t i = 0;
    for (const hmm_list *p = l->next; p != l; p = p->next, i++)
        if (i >= n || hmm_container_of(p, item, node)->value != want[i])
            return false;
    if (i != n)
        return false;
    for (const hmm_list *p = l->prev; p != l; p = p->prev)
        if (hmm_container_of(p, item, node)->value != want[--i])
            return false;
    return hmm_list_valid(l) && hmm_list_length(l) == n;
}

static void test_basics(void)
{
    hmm_list l;
    item it[5];
    for (int i = 0; i < 5; i++)
        it[i].value = i;

    hmm_list_init(&l);
    ok(hmm_list_empty(&l), "a new list is empty");
    ok(hmm_list_first(&l) == NULL, "first of an empty list is NULL");
    is_int(0, (long long)hmm_list_length(&l), "length of an empty list");
    ok(hmm_list_valid(&l), "an empty list is valid");
    ok(!hmm_list_contains(&l, &it[0].node), "an empty list contains nothing");

    hmm_list_push(&l, &it[0].node);
    ok(!hmm_list_empty(&l), "not empty after push");
    ok(hmm_list_first(&l) == &it[0].node, "first is the pushed element");
    hmm_list_push(&l, &it[1].node);
    hmm_list_push_back(&l, &it[2].node);
    hmm_list_push(&l, &it[3].node);
    ok(list_is(&l, (int[]){3, 1, 0, 2}, 4), "push adds at the front, push_back at the end");
    ok(hmm_container_of(hmm_list_first(&l), item, node) == &it[3],
       "container_of finds the element of a node");
    ok(hmm_list_contains(&l, &it[2].node) && !hmm_list_contains(&l, &it[4].node),
       "contains tells members from non-members");

    hmm_list_remove(&it[1].node);
    ok(list_is(&l, (int[]){3, 0, 2}, 3), "remove from the middle");
    ok(it[1].node.next == &it[1].node && it[1].node.prev == &it[1].node,
       "a removed node points at itself");
    hmm_list_remove(&it[1].node);
    ok(list_is(&l, (int[]){3, 0, 2}, 3), "removing a removed node again is harmless");
    hmm_list_remove(&it[3].node);
    hmm_list_remove(&it[2].node);
    ok(list_is(&l, (int[]){0}, 1), "remove the first and the last");
    hmm_list_remove(&it[0].node);
    ok(hmm_list_empty(&l) && hmm_list_valid(&l), "removing the only element empties the list");
}

static void test_splice(void)
{
    hmm_list a, b;
    item it[6];
    for (int i = 0; i < 6; i++)
        it[i].value = i;
    hmm_list_init(&a);
    hmm_list_init(&b);

    hmm_list_splice(&a, &b);
    ok(hmm_list_empty(&a) && hmm_list_empty(&b) && hmm_list_valid(&a) && hmm_list_valid(&b),
       "splicing an empty list into an empty list");
    for (int i = 0; i < 3; i++)
        hmm_list_push_back(&b, &it[i].node);
    hmm_list_splice(&a, &b);
    ok(list_is(&a, (int[]){0, 1, 2}, 3), "splice into an empty list moves everything");
    ok(hmm_list_empty(&b) && hmm_list_valid(&b), "the source is left empty and valid");
    for (int i = 3; i < 6; i++)
        hmm_list_push_back(&b, &it[i].node);
    hmm_list_splice(&a, &b);
    ok(list_is(&a, (int[]){0, 1, 2, 3, 4, 5}, 6), "splice appends in order");
    hmm_list_splice(&a, &b);
    ok(list_is(&a, (int[]){0, 1, 2, 3, 4, 5}, 6), "splicing an empty source changes nothing");
    item extra = {.value = 9};
    hmm_list_push(&b, &extra.node);
    ok(list_is(&b, (int[]){9}, 1), "the source is usable after a splice");
}

static void test_valid_detects_damage(void)
{
    hmm_list l;
    item it[3];
    hmm_list_init(&l);
    for (int i = 0; i < 3; i++) {
        it[i].value = i;
        hmm_list_push_back(&l, &it[i].node);
    }
    hmm_list *saved = it[1].node.prev;
    it[1].node.prev = &it[2].node;
    ok(!hmm_list_valid(&l), "valid() notices a wrong prev link");
    it[1].node.prev = saved;
    saved = it[2].node.next;
    it[2].node.next = &it[0].node;
    ok(!hmm_list_valid(&l), "valid() notices a wrong next link");
    it[2].node.next = saved;
    ok(hmm_list_valid(&l), "valid() again once repaired");
}

/* Random operations on one list of N items against an array model. */
#define N 300
static void test_random(uint64_t seed)
{
    static item it[N];
    static int model[N];
    size_t n = 0;
    hmm_list l, other;
    rng r;
    bool good = true;
    unsigned long ops = 0, checks = 0;

    rng_seed(&r, seed);
    hmm_list_init(&l);
    hmm_list_init(&other);
    for (int i = 0; i < N; i++) {
        it[i].value = i;
        hmm_list_init(&it[i].node);
    }
    for (int step = 0; step < 200000 && good; step++) {
        int i = (int)rng_below(&r, N);
        bool member = hmm_list_contains(&l, &it[i].node);
        size_t pos = 0;
        while (pos < n && model[pos] != i)
            pos++;
        if (member != (pos < n)) {
            diag("step %d: contains(%d) = %d, model says %d", step, i, member, pos < n);
            good = false;
            break;
        }
        switch (rng_below(&r, 3)) {
        case 0: /* push front */
            if (member)
                break;
            hmm_list_push(&l, &it[i].node);
            memmove(model + 1, model, n * sizeof *model);
            model[0] = i;
            n++;
            break;
        case 1: /* push back */
            if (member)
                break;
            hmm_list_push_back(&l, &it[i].node);
            model[n++] = i;
            break;
        default: /* remove */
            if (!member)
                break;
            hmm_list_remove(&it[i].node);
            memmove(model + pos, model + pos + 1, (n - pos - 1) * sizeof *model);
            n--;
            break;
        }
        ops++;
        if (step % 97 == 0) {
            checks++;
            if (!list_is(&l, model, n)) {
                diag("step %d: list differs from the model (%zu elements)", step, n);
                good = false;
            }
        }
    }
    ok(good && list_is(&l, model, n),
       "%lu random push/push_back/remove match the model (%lu full checks)", ops, checks);
    hmm_list_splice(&other, &l);
    ok(list_is(&other, model, n) && hmm_list_empty(&l),
       "splice of the random list keeps its order");
}

int main(void)
{
    plan(26);
    test_basics();
    test_splice();
    test_valid_detects_damage();
    test_random(test_seed(20261126));
    return tap_done();
}
