/*
 * hooks.c - the hook table: installing it, running the set-up functions
 * that fill it, and the mark of watched blocks.
 */
#include "core/hooks.h"

#include "core/heap.h"

hmm_hook_table hmm_hooks __attribute__((aligned(64)));

/* The linker's bounds of the hmm_setup section; weak, as a program linked
 * with the core alone has none. */
extern hmm_setup_fn *const __start_hmm_setup[] __attribute__((visibility("hidden")));
extern hmm_setup_fn *const __stop_hmm_setup[] __attribute__((visibility("hidden")));

void hmm_hooks_setup(void)
{
    for (hmm_setup_fn *const *f = __start_hmm_setup; f < __stop_hmm_setup; f++)
        (*f)();
}

void hmm_hooks_install(const hmm_hook_table *t)
{
    hmm_hook_table next = *t;
    next.on = 0;
    if (t->tail || t->alloc || t->alloc_small || t->dispose || t->check || t->resized || t->carve ||
        t->allocated || t->freed || t->moved || t->sample || t->sampled || t->unwatched ||
        t->tick || t->thread_start || t->thread_exit || t->fork)
        next.on = HMM_HOOKS_ON | (t->every_call ? HMM_HOOKS_EVERY_CALL : 0) |
                  (t->tick && t->tick_always ? HMM_HOOKS_TICK_ALWAYS : 0);
    hmm_hooks = next;
    hmm_heap_use_fast_path(hmm_tls_thread_heap);
}

void hmm_watch(void *p)
{
    hmm_chunk *c;
    hmm_span *s = hmm_locate(p, "malloc", &c);
    if (s)
        s->flags |= HMM_SPAN_WATCHED;
    else
        c->watched = 1;
}

void hmm_unwatch(hmm_chunk *c, hmm_span *s, void *p)
{
    if (s)
        s->flags &= (uint8_t)~HMM_SPAN_WATCHED;
    else
        c->watched = 0;
    if (hmm_hooks.unwatched)
        hmm_hooks.unwatched(p);
}
