/*
 * options.c - the table of HMM_* environment variables: name, default,
 * bounds.  Parsed by hand, since the allocator cannot call what allocates;
 * a malformed value is reported once and the default kept.
 */
#define _GNU_SOURCE
#include "options.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "os.h"

hmm_options hmm_opt = {
    .stats = false,
    .stats_fd = 2,
    .purge_delay = 250,
    .purge_thread = true,
    .trim_threshold = (size_t)1 << 20,
    .heap_map_interval = 10,
};

typedef struct option_desc {
    const char *name;
    uint32_t *u32;
    bool *flag;
    uint32_t max;
} option_desc;

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* The path in environment variable name, into buf; left empty when unset
 * or too long for buf. */
static void copy_path(const char *name, char *buf, size_t size)
{
    const char *v = secure_getenv(name);
    if (!v || !*v)
        return;
    size_t n = strlen(v);
    if (n < size)
        memcpy(buf, v, n + 1);
    else
        hmm_warn("ignoring %s: longer than %zu bytes", name, size - 1);
}

void hmm_options_init(void)
{
    static bool done;
    if (__atomic_exchange_n(&done, true, __ATOMIC_ACQ_REL))
        return;
    const option_desc table[] = {
        {"HMM_STATS", NULL, &hmm_opt.stats, 1},
        {"HMM_PURGE_DELAY", &hmm_opt.purge_delay, NULL, HMM_PURGE_DELAY_MAX},
        {"HMM_PURGE_THREAD", NULL, &hmm_opt.purge_thread, 1},
        {"HMM_SECURE", NULL, &hmm_opt.secure, 1},
        {"HMM_HEAP_MAP_INTERVAL", &hmm_opt.heap_map_interval, NULL, HMM_PURGE_DELAY_MAX},
        {"HMM_HUGEPAGES", NULL, &hmm_opt.hugepages, 1},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *v = secure_getenv(table[i].name);
        if (!v)
            continue;
        uint32_t x;
        if (!parse_u32(v, table[i].max, &x)) {
            hmm_warn("ignoring %s=%s: expected a number from 0 to %u", table[i].name, v,
                     table[i].max);
            continue;
        }
        if (table[i].u32)
            *table[i].u32 = x;
        else
            *table[i].flag = x != 0;
    }
    /* Copied: the program may change its environment before it exits. */
    copy_path("HMM_STATS_FILE", hmm_opt.stats_file, sizeof hmm_opt.stats_file);
    copy_path("HMM_HEAP_MAP", hmm_opt.heap_map, sizeof hmm_opt.heap_map);
    /* GNU tools close stderr in an atexit handler, before the report; a
     * report to a file needs no copy of it. */
    if (hmm_opt.stats && !hmm_opt.stats_file[0])
        hmm_opt.stats_fd = hmm_os_keep_fd(2);
}

void hmm_option_path(const char *pattern, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *f = pattern; *f && n + 1 < size; f++) {
        if (f[0] == '%' && f[1] == 'p') {
            n += hmm_format(buf + n, size - n, "%llu", (unsigned long long)hmm_os_getpid());
            f++;
        } else {
            buf[n++] = *f;
            f += f[0] == '%' && f[1] == '%';
        }
    }
    buf[n] = '\0';
}
