/*
 * elfsyms.c - the loaded modules (dl_iterate_phdr) and the functions of
 * their symbol tables, read from each module's file, mapped.  A heap
 * profile needs no more than these names: loading libdw and the four
 * libraries it needs (libelf, zlib, bzip2, lzma) and having it parse
 * /proc/self/maps cost a short process more than the rest of its profile
 * (about 2 ms and 1-3 MiB of resident memory at exit).  The leak report,
 * which wants line numbers and separate debug files, still uses libdw.
 *
 * The files are read as untrusted: every offset and size is checked
 * against the file's size before use.
 */
#define _GNU_SOURCE
#include "elfsyms.h"

#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "os.h"

struct list {
    hmm_module *v;
    size_t n, cap;
};

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct list *l = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        lo = start < lo ? start : lo;
        hi = start + ph->p_memsz > hi ? start + ph->p_memsz : hi;
    }
    if (lo >= hi)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        hmm_module *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 1;
        l->v = v;
        l->cap = cap;
    }
    /* The program comes first, named "".  A module without a name has no
     * file to read (nor has the vdso, which has one: it fails to open), so
     * its frames go unnamed. */
    char *path = NULL;
    if (l->n) {
        if (!info->dlpi_name || !info->dlpi_name[0])
            return 0;
        if (!(path = strdup(info->dlpi_name)))
            return 1;
    }
    l->v[l->n++] = (hmm_module){lo, hi, info->dlpi_addr, path, NULL, 0};
    return 0;
}

static int by_lo(const void *a, const void *b)
{
    const hmm_module *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

hmm_module *hmm_modules(size_t *n)
{
    struct list l = {NULL, 0, 0};
    if (dl_iterate_phdr(add_module, &l) != 0) {
        hmm_modules_free(l.v, l.n);
        return NULL;
    }
    if (l.v)
        qsort(l.v, l.n, sizeof *l.v, by_lo);
    *n = l.n;
    return l.v;
}

hmm_module *hmm_module_at(hmm_module *v, size_t n, uintptr_t a)
{
    size_t lo = 0, hi = n; /* the first module starting above a */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].lo <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && a < v[lo - 1].hi ? &v[lo - 1] : NULL;
}

/* Section i of the file, when it lies within it. */
static const Elf64_Shdr *section(const hmm_module *m, const Elf64_Ehdr *eh, size_t i)
{
    if (i >= eh->e_shnum)
        return NULL;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)m->file + eh->e_shoff) + i;
    return sh->sh_offset <= m->file_size && sh->sh_size <= m->file_size - sh->sh_offset ? sh : NULL;
}

bool hmm_module_functions(hmm_module *m,
                          void (*fn)(void *arg, uintptr_t start, uintptr_t size, const char *name),
                          void *arg)
{
    if (!m->file)
        m->file = hmm_os_map_file(m->path ? m->path : "/proc/self/exe", &m->file_size);
    const Elf64_Ehdr *eh = m->file;
    if (!eh || m->file_size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > m->file_size ||
        eh->e_shnum > (m->file_size - eh->e_shoff) / sizeof(Elf64_Shdr))
        return false;
    const Elf64_Shdr *symtab = NULL;
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *sh = section(m, eh, i);
        if (sh && (sh->sh_type == SHT_SYMTAB || (sh->sh_type == SHT_DYNSYM && !symtab)))
            symtab = sh;
    }
    const Elf64_Shdr *strtab = symtab ? section(m, eh, symtab->sh_link) : NULL;
    if (!strtab || strtab->sh_type != SHT_STRTAB || symtab->sh_entsize != sizeof(Elf64_Sym) ||
        strtab->sh_size == 0)
        return false;
    const char *names = (const char *)m->file + strtab->sh_offset;
    if (names[strtab->sh_size - 1] != '\0') /* so every name ends within it */
        return false;
    const Elf64_Sym *sym = (const Elf64_Sym *)((const char *)m->file + symtab->sh_offset);
    for (size_t i = 1; i < symtab->sh_size / sizeof *sym; i++)
        if (ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC && sym[i].st_shndx != SHN_UNDEF &&
            sym[i].st_name < strtab->sh_size)
            fn(arg, m->bias + sym[i].st_value, sym[i].st_size, names + sym[i].st_name);
    return true;
}

void hmm_modules_free(hmm_module *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].file)
            hmm_os_unmap(v[i].file, v[i].file_size);
        free(v[i].path);
    }
    free(v);
}
