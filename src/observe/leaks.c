/*
 * leaks.c - leaks mode: a record (stack, size) per live block in a block
 * map, and the report, at exit, of the blocks still allocated, grouped by
 * the stack that allocated them and sorted by bytes.
 *
 * The report runs in a destructor of libhmm's, after the program's own
 * destructors and atexit handlers (a preloaded library is finalized
 * last), so what those free is not reported.  It allocates (libdw, the
 * text of the report): it marks the thread untracked and holds no libhmm
 * lock while it does.
 */
#define _GNU_SOURCE
#include "observe/leaks.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include "base/diag.h"
#include "base/options.h"
#include "base/os.h"
#include "observe/blockmap.h"

static hmm_blockmap live = HMM_BLOCKMAP_INIT;

void hmm_leaks_alloc(void *p, size_t size)
{
    hmm_stack *s = hmm_stack_here();
    if (s)
        hmm_blockmap_put(&live, (uintptr_t)p, s, size);
}

/* The hooks' freed: forgets block p. */
static void forget(void *p)
{
    hmm_block_rec r;
    hmm_blockmap_take(&live, (uintptr_t)p, &r);
}

/* The hooks' moved: block p, resized to size bytes, is at q now. */
static void moved(void *p, void *q, size_t size)
{
    hmm_block_rec r;
    if (hmm_blockmap_take(&live, (uintptr_t)p, &r))
        hmm_blockmap_put(&live, (uintptr_t)q, r.stack, size);
}

void hmm_leaks_wire(hmm_hook_table *t)
{
    t->every_call = true;
    t->allocated = hmm_leaks_alloc;
    t->freed = forget;
    t->moved = moved;
}

struct totals {
    uint64_t blocks, bytes;
};

static void add(const hmm_block_rec *r, void *arg)
{
    struct totals *t = arg;
    r->stack->count++;
    r->stack->bytes += r->size;
    t->blocks++;
    t->bytes += r->size;
}

/* " in MODULE+0xOFFSET" for a frame with no name (a stripped module):
 * what addr2line -e MODULE reads, the offset from the module's load
 * address for a position-independent one and the address itself for a
 * fixed one. */
static void print_module_offset(hmm_out *out, void *pc)
{
    Dl_info info;
    if (!dladdr(pc, &info) || !info.dli_fname || !info.dli_fname[0] || !info.dli_fbase)
        return;
    const ElfW(Ehdr) *eh = info.dli_fbase;
    uintptr_t off = (uintptr_t)pc;
    if (eh->e_type == ET_DYN)
        off -= (uintptr_t)info.dli_fbase;
    /* The loader names the program by its argv[0], which may be relative;
     * its absolute name is read once (one report at a time is written). */
    static char exe[HMM_PATH_MAX];
    const char *name = info.dli_fname;
    if (name[0] != '/' && (exe[0] || hmm_os_exe_path(exe, sizeof exe)))
        name = exe;
    hmm_out_printf(out, " in %s+0x%lx", name, (unsigned long)off);
}

static void print_stack(hmm_out *out, hmm_symbolizer *sym, const hmm_stack *s)
{
    hmm_out_printf(out, "\n%llu bytes in %llu block%s allocated from:\n",
                   (unsigned long long)s->bytes, (unsigned long long)s->count,
                   s->count == 1 ? "" : "s");
    hmm_frame f[HMM_BACKTRACE_MAX];
    void *pc[HMM_BACKTRACE_MAX];
    unsigned n = hmm_stacks_frames(sym, s, f, pc);
    for (unsigned i = 0; i < n; i++) {
        hmm_out_printf(out, "    #%u %p", i, pc[i]);
        if (f[i].func) {
            hmm_out_puts(out, " in ");
            hmm_out_puts(out, f[i].func);
        } else {
            print_module_offset(out, pc[i]);
        }
        if (f[i].file) {
            hmm_out_puts(out, " ");
            hmm_out_puts(out, f[i].file);
            hmm_out_printf(out, ":%d", f[i].line);
        }
        hmm_out_puts(out, "\n");
    }
}

__attribute__((destructor)) static void leaks_at_exit(void)
{
    if (!hmm_opt.leaks || !hmm_stacks_begin())
        return;
    struct totals t = {0, 0};
    hmm_blockmap_each(&live, add, &t);
    hmm_out out;
    if (hmm_out_open(&out, hmm_opt.leaks_file, hmm_opt.leaks_fd, "leak report")) {
        size_t n;
        hmm_stack **v = hmm_stacks_sorted(&n);
        if (t.blocks == 0)
            hmm_out_puts(&out, "libhmm: leaks: no block is still allocated at exit\n");
        else
            hmm_out_printf(&out,
                           "libhmm: leaks: %llu bytes in %llu block%s still allocated at exit, "
                           "from %zu call stack%s\n",
                           (unsigned long long)t.bytes, (unsigned long long)t.blocks,
                           t.blocks == 1 ? "" : "s", n, n == 1 ? "" : "s");
        hmm_symbolizer *sym = hmm_stacks_symbolizer(true, v, n);
        for (size_t i = 0; i < n; i++)
            print_stack(&out, sym, v[i]);
        if (sym)
            hmm_symbolizer_close(sym);
        hmm_stacks_free(v);
        hmm_out_close(&out);
    }
    hmm_stacks_end();
}
