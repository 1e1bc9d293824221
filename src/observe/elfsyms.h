/*
 * elfsyms.h - the process's loaded modules and the functions of their
 * symbol tables, read from the modules' files with libelf, without libdw:
 * how the heap profile names its frames (backtrace.c).
 */
#ifndef HMM_ELFSYMS_H
#define HMM_ELFSYMS_H

#include "base/internal.h"

typedef struct hmm_module {
    uintptr_t lo, hi; /* the addresses its segments span */
    uintptr_t bias;   /* run-time address less the file's */
    char *path;       /* as the dynamic loader has it; NULL: the program */
    void *file;       /* mapped by hmm_module_functions */
    size_t file_size;
    struct Elf *elf; /* libelf's reading of it */
} hmm_module;

/* The loaded modules, sorted by address (malloc'd; *n of them); NULL when
 * memory is short. */
hmm_module *hmm_modules(size_t *n);
/* The module of v (n of them) holding address a, or NULL. */
hmm_module *hmm_module_at(hmm_module *v, size_t n, uintptr_t a);
/* Calls fn for each function in m's symbol table (.symtab, else .dynsym),
 * with its run-time address, its size and its name (valid until
 * hmm_modules_free); false when the file cannot be read as such. */
bool hmm_module_functions(hmm_module *m,
                          void (*fn)(void *arg, uintptr_t start, uintptr_t size, const char *name),
                          void *arg);
void hmm_modules_free(hmm_module *v, size_t n);

#endif
