/*
 * options.c - the table of HMM_* environment variables: name, default,
 * bounds.  Parsed by hand, since the allocator cannot call what allocates;
 * a malformed value is reported once and the default kept.
 */
#define _GNU_SOURCE
#include "base/options.h"

#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/os.h"

hmm_options hmm_opt = {
    .stats = false,
    .stats_fd = 2,
    .warn_fd = 2,
    .purge_delay = 250,
    .purge_thread = true,
    .trim_threshold = (size_t)1 << 20,
    .heap_map_interval = 10,
    .leaks_fd = 2,
    .profile_rate = HMM_PROFILE_RATE_DEFAULT,
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

/* Copies the file name in variable name to dst (HMM_PATH_MAX bytes), which stays
 * empty when it is unset, empty or too long: the program may change its
 * environment before the file is written. */
static void get_path(const char *name, char *dst)
{
    const char *file = secure_getenv(name);
    if (!file || !*file)
        return;
    size_t n = strlen(file);
    if (n < HMM_PATH_MAX)
        memcpy(dst, file, n + 1);
    else
        hmm_warn("ignoring %s: longer than %zu bytes", name, (size_t)HMM_PATH_MAX - 1);
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
        {"HMM_HUGEPAGES", &hmm_opt.hugepages, NULL, HMM_HUGEPAGES_ALL},
        {"HMM_LEAKS", NULL, &hmm_opt.leaks, 1},
        {"HMM_PROFILE_RATE", &hmm_opt.profile_rate, NULL, HMM_PROFILE_RATE_MAX},
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
    get_path("HMM_STATS_FILE", hmm_opt.stats_file);
    get_path("HMM_HEAP_MAP", hmm_opt.heap_map);
    get_path("HMM_LEAKS_FILE", hmm_opt.leaks_file);
    hmm_opt.leaks |= hmm_opt.leaks_file[0] != '\0';
    get_path("HMM_PROFILE", hmm_opt.profile_file);
    hmm_opt.profile = hmm_opt.profile_file[0] != '\0';
    if (hmm_opt.profile_rate == 0)
        hmm_opt.profile_rate = 1;
    /* GNU tools close stderr in an atexit handler, before the reports:
     * a report to stderr, and the warning that a report to a file could
     * not be written, go to a copy taken now. */
    if (hmm_opt.stats || hmm_opt.stats_file[0] || hmm_opt.leaks || hmm_opt.profile ||
        hmm_opt.heap_map[0])
        hmm_opt.warn_fd = hmm_os_keep_fd(2);
    if (hmm_opt.stats && !hmm_opt.stats_file[0])
        hmm_opt.stats_fd = hmm_opt.warn_fd;
    if (hmm_opt.leaks && !hmm_opt.leaks_file[0])
        hmm_opt.leaks_fd = hmm_opt.warn_fd;
}
