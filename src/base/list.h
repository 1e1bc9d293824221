/*
 * list.h - intrusive, circular, doubly linked lists: the structure every
 * layer uses to track free things.  A list is a sentinel node; an element
 * embeds a node.  Every operation is O(1) except the checkers in list.c.
 */
#ifndef HMM_LIST_H
#define HMM_LIST_H

#include <stddef.h>
#include <stdbool.h>

typedef struct hmm_list {
    struct hmm_list *next, *prev;
} hmm_list;

#define hmm_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static inline void hmm_list_init(hmm_list *l) { l->next = l->prev = l; }

static inline bool hmm_list_empty(const hmm_list *l) { return l->next == l; }

static inline void hmm_list_insert_between(hmm_list *n, hmm_list *prev, hmm_list *next)
{
    n->prev = prev;
    n->next = next;
    prev->next = n;
    next->prev = n;
}

static inline void hmm_list_push(hmm_list *l, hmm_list *n)
{
    hmm_list_insert_between(n, l, l->next);
}

static inline void hmm_list_push_back(hmm_list *l, hmm_list *n)
{
    hmm_list_insert_between(n, l->prev, l);
}

/* Unlinks n; its links are pointed at itself so a second remove is harmless. */
static inline void hmm_list_remove(hmm_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* The first element, or NULL when the list is empty. */
static inline hmm_list *hmm_list_first(const hmm_list *l) { return l->next == l ? NULL : l->next; }

/* Moves every element of src to the end of dst; src is left empty. */
static inline void hmm_list_splice(hmm_list *dst, hmm_list *src)
{
    if (hmm_list_empty(src))
        return;
    hmm_list *first = src->next, *last = src->prev;
    first->prev = dst->prev;
    dst->prev->next = first;
    last->next = dst;
    dst->prev = last;
    hmm_list_init(src);
}

/* Number of elements (walks the list). */
size_t hmm_list_length(const hmm_list *l);
/* True when every node's neighbours point back at it. */
bool hmm_list_valid(const hmm_list *l);
/* True when n is linked into l (walks the list). */
bool hmm_list_contains(const hmm_list *l, const hmm_list *n);

#endif
