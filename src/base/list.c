/*
 * list.c - the walking operations on intrusive lists, used by the
 * consistency checker and the tests; the O(1) ones are inline in list.h.
 */
#include "base/list.h"

size_t hmm_list_length(const hmm_list *l)
{
    size_t n = 0;
    for (const hmm_list *p = l->next; p != l; p = p->next)
        n++;
    return n;
}

bool hmm_list_valid(const hmm_list *l)
{
    const hmm_list *p = l;
    do {
        if (p->next == NULL || p->prev == NULL || p->next->prev != p || p->prev->next != p)
            return false;
        p = p->next;
    } while (p != l);
    return true;
}

bool hmm_list_contains(const hmm_list *l, const hmm_list *n)
{
    for (const hmm_list *p = l->next; p != l; p = p->next)
        if (p == n)
            return true;
    return false;
}
