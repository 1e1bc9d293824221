/*
 * elfsyms.c - the loaded modules (dl_iterate_phdr) and the functions of
 * their symbol tables, read from each module's file with elfutils' libelf
 * (loaded with dlopen when a report first needs it).  A heap profile needs
 * no more than these names: loading libdw and the libraries it needs
 * (zlib, bzip2, lzma) and having it parse /proc/self/maps cost a short
 * process more than the rest of its profile (about 2 ms and 1-3 MiB of
 * resident memory at exit).  The leak report, which wants line numbers
 * and separate debug files, still uses libdw.
 */
#define _GNU_SOURCE
#include "observe/elfsyms.h"

#include <gelf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "base/os.h"
#include "core/heap.h"
#include "observe/backtrace.h"

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
        hmm_module *v = hmm_realloc(l->v, cap * sizeof *v, "realloc");
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
        size_t len = strlen(info->dlpi_name) + 1;
        if (!(path = hmm_alloc(len, "malloc")))
            return 1;
        memcpy(path, info->dlpi_name, len);
    }
    l->v[l->n++] = (hmm_module){lo, hi, info->dlpi_addr, path, NULL, 0, NULL};
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

/* The functions of elfutils' libelf used here, found with dlsym. */
#define LIBELF_FUNCTIONS(X)                                                                        \
    X(elf_version)                                                                                 \
    X(elf_memory)                                                                                  \
    X(elf_end)                                                                                     \
    X(elf_kind)                                                                                    \
    X(elf_nextscn)                                                                                 \
    X(elf_getscn)                                                                                  \
    X(elf_getdata)                                                                                 \
    X(gelf_getshdr)                                                                                \
    X(gelf_getsym)

static struct {
#define FIELD(f) __typeof__(f) *f;
    LIBELF_FUNCTIONS(FIELD)
#undef FIELD
} elf;

static const hmm_symbol libelf_symbols[] = {
#define SYMBOL(f) {#f, (void **)&elf.f},
    LIBELF_FUNCTIONS(SYMBOL)
#undef SYMBOL
};

/* Loads libelf on the first call (reports are written one at a time);
 * false, with a warning the first time, when it cannot. */
static bool load_libelf(void)
{
    static int state; /* 0: not tried; 1: loaded; -1: failed */
    if (state == 0)
        state = hmm_load_library("libelf.so.1", "elfutils", libelf_symbols,
                                 hmm_countof(libelf_symbols), "frames are shown as addresses") &&
                        elf.elf_version(EV_CURRENT) != EV_NONE
                    ? 1
                    : -1;
    return state > 0;
}

/* m's symbol table: .symtab, else .dynsym (a stripped module's). */
static Elf_Scn *symbol_table(Elf *e, GElf_Shdr *shdr)
{
    Elf_Scn *found = NULL;
    for (Elf_Scn *scn = NULL; (scn = elf.elf_nextscn(e, scn)) != NULL;) {
        GElf_Shdr sh;
        if (!elf.gelf_getshdr(scn, &sh) ||
            (sh.sh_type != SHT_SYMTAB && (sh.sh_type != SHT_DYNSYM || found)))
            continue;
        found = scn;
        *shdr = sh;
    }
    return found;
}

bool hmm_module_functions(hmm_module *m,
                          void (*fn)(void *arg, uintptr_t start, uintptr_t size, const char *name),
                          void *arg)
{
    if (!load_libelf())
        return false;
    if (!m->file)
        m->file = hmm_os_map_file(m->path ? m->path : "/proc/self/exe", &m->file_size);
    if (m->file && !m->elf)
        m->elf = elf.elf_memory(m->file, m->file_size);
    if (!m->elf || elf.elf_kind(m->elf) != ELF_K_ELF)
        return false;
    GElf_Shdr shdr = {0};
    Elf_Scn *scn = symbol_table(m->elf, &shdr);
    Elf_Data *data = scn ? elf.elf_getdata(scn, NULL) : NULL;
    Elf_Scn *strscn = scn ? elf.elf_getscn(m->elf, shdr.sh_link) : NULL;
    Elf_Data *strings = strscn ? elf.elf_getdata(strscn, NULL) : NULL;
    /* Names are looked up here, not with elf_strptr, which checks the
     * table at each call (a quarter of a profile's exit): a table that
     * ends in a NUL holds every name that starts in it whole. */
    if (!data || shdr.sh_entsize == 0 || !strings || strings->d_size == 0 ||
        ((const char *)strings->d_buf)[strings->d_size - 1] != '\0')
        return false;
    const char *names = strings->d_buf;
    for (size_t i = 1; i < shdr.sh_size / shdr.sh_entsize; i++) {
        GElf_Sym sym;
        if (elf.gelf_getsym(data, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
            sym.st_shndx != SHN_UNDEF && sym.st_name < strings->d_size)
            fn(arg, m->bias + sym.st_value, sym.st_size, names + sym.st_name);
    }
    return true;
}

void hmm_modules_free(hmm_module *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].elf)
            elf.elf_end(v[i].elf);
        if (v[i].file)
            hmm_os_unmap(v[i].file, v[i].file_size);
        hmm_free(v[i].path, "free");
    }
    hmm_free(v, "free");
}
