/*
 * elfsyms.c - the loaded modules and their functions read from the files
 * (src/observe/elfsyms.c): the program is listed, with main() at its address; a
 * library by its path; and a copy of the program cut short at many
 * lengths, or with its section table pointing outside the file, is read
 * without a fault and gives no name outside the file.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/heap.h"
#include "observe/elfsyms.h"
#include "tap.h"

struct found {
    const char *want;
    uintptr_t at;
    const char *lo, *hi; /* names must lie here */
    unsigned functions, outside;
};

static void check(void *arg, uintptr_t start, uintptr_t size, const char *name)
{
    (void)size;
    struct found *f = arg;
    f->functions++;
    f->outside += name < f->lo || name >= f->hi;
    if (f->want && strcmp(name, f->want) == 0)
        f->at = start;
}

/* The program's file, read whole (malloc'd). */
static char *read_program(size_t *size)
{
    FILE *in = fopen("/proc/self/exe", "rb");
    char *buf = NULL;
    if (in && fseek(in, 0, SEEK_END) == 0 && (*size = (size_t)ftell(in)) > 0 &&
        fseek(in, 0, SEEK_SET) == 0 && (buf = malloc(*size)) && fread(buf, 1, *size, in) != *size) {
        free(buf);
        buf = NULL;
    }
    if (in)
        fclose(in);
    return buf;
}

/* Reads the n first bytes of buf as a module's file; true when it read
 * without a name outside it. */
static bool read_copy(const char *buf, size_t n, const char *path, unsigned *functions)
{
    FILE *out = fopen(path, "wb");
    if (!out || fwrite(buf, 1, n, out) != n || fclose(out) != 0)
        return false;
    /* hmm_modules_free gives both back to the core, as hmm_modules made
     * them. */
    size_t len = strlen(path) + 1;
    hmm_module *m = hmm_alloc(sizeof *m, "malloc");
    char *copy = hmm_alloc(len, "malloc");
    memcpy(copy, path, len);
    *m = (hmm_module){0, 1, 0, copy, NULL, 0, NULL};
    struct found f = {NULL, 0, NULL, NULL, 0, 0};
    /* Names are checked against the mapping, known once it is made. */
    hmm_module_functions(m, check, &(struct found){0});
    f.lo = m->file;
    f.hi = (const char *)m->file + m->file_size;
    hmm_module_functions(m, check, &f);
    *functions = f.functions;
    hmm_modules_free(m, 1);
    return f.outside == 0;
}

int main(void)
{
    plan(5);
    size_t n = 0;
    hmm_module *v = hmm_modules(&n);
    hmm_module *prog = v ? hmm_module_at(v, n, (uintptr_t)main) : NULL;
    ok(prog && prog->path == NULL, "the program is listed (no path: /proc/self/exe)");
    hmm_module *libc =
        v ? hmm_module_at(v, n, (uintptr_t)dlsym(RTLD_DEFAULT, "gnu_get_libc_version")) : NULL;
    ok(libc && libc->path && strstr(libc->path, "libc"), "libc is listed by its path (%s)",
       libc && libc->path ? libc->path : "none");
    struct found f = {"main", 0, NULL, NULL, 0, 0};
    if (prog) {
        hmm_module_functions(prog, check, &(struct found){0});
        f.lo = prog->file;
        f.hi = (const char *)prog->file + prog->file_size;
        hmm_module_functions(prog, check, &f);
    }
    ok(f.at == (uintptr_t)main && f.outside == 0,
       "main() at its run-time address, among %u functions named from the file", f.functions);
    hmm_modules_free(v, n);

    size_t size;
    char *buf = read_program(&size);
    if (!buf)
        bail("cannot read the program");
    char path[] = "t/unit/tmp.elfsyms.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        bail("cannot create %s", path);
    close(fd);
    unsigned cuts = 0, good = 0, functions;
    for (size_t len = 0; len <= size; len += len < 256 ? 1 : size / 97 + 1, cuts++)
        good += read_copy(buf, len, path, &functions);
    is_int(cuts, good, "a copy cut at %u lengths: read without a fault or a name outside it", cuts);
    /* The section table and the symbol table's offsets beyond the end. */
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++)
        if (sh[i].sh_type == SHT_SYMTAB || sh[i].sh_type == SHT_STRTAB)
            sh[i].sh_size = size;
    bool sizes = read_copy(buf, size, path, &functions) && functions == 0;
    eh->e_shoff = size - 8;
    ok(sizes && read_copy(buf, size, path, &functions) && functions == 0,
       "tables and a section table reaching past the end: nothing read");
    unlink(path);
    free(buf);
    return tap_done();
}
