/*
 * options.h - tuning read once from HMM_* environment variables.
 */
#ifndef HMM_OPTIONS_H
#define HMM_OPTIONS_H

#include "base/internal.h"

/* The longest HMM_PURGE_DELAY, in ms: an hour. */
#define HMM_PURGE_DELAY_MAX 3600000
/* The default and the largest HMM_PROFILE_RATE, in bytes. */
#define HMM_PROFILE_RATE_DEFAULT (512 * 1024)
#define HMM_PROFILE_RATE_MAX (1024 * 1024 * 1024)

/* HMM_HUGEPAGES: none, where memory is dense (huge blocks, a heap's
 * chunks after its first), or every mapping. */
enum { HMM_HUGEPAGES_OFF, HMM_HUGEPAGES_DENSE, HMM_HUGEPAGES_ALL };

typedef struct hmm_options {
    bool stats;           /* HMM_STATS: print statistics at exit */
    int stats_fd;         /* where they go: a copy of stderr taken at start */
    int warn_fd;          /* where warnings go: stderr, or a copy of it when a report is on */
    uint32_t purge_delay; /* HMM_PURGE_DELAY: ms a free page stays before it is returned */
    uint32_t hugepages;   /* HMM_HUGEPAGES: where to ask for transparent huge pages */
    bool purge_thread;    /* HMM_PURGE_THREAD: the background purger (purger.c) */
    bool secure;          /* HMM_SECURE: canaries, poisoned frees, quarantine (secure.c) */
    /* Bytes of dirty free pages a heap keeps before a purge pass is worth
     * it (mallopt's M_TRIM_THRESHOLD). */
    size_t trim_threshold;
    /* HMM_STATS_FILE: where the statistics go at exit instead of stderr,
     * "%p" standing for the process id; empty: not set. */
    char stats_file[HMM_PATH_MAX];
    /* HMM_LEAKS: track every block and report those still allocated at
     * exit (leaks.c), to leaks_fd (a copy of stderr) or, "%p" standing for
     * the process id, to HMM_LEAKS_FILE (which implies HMM_LEAKS). */
    bool leaks;
    int leaks_fd;
    char leaks_file[HMM_PATH_MAX];
    /* HMM_PROFILE: the file the sampled heap profile goes to (profile.c),
     * "%p" standing for the process id; HMM_PROFILE_RATE: the mean bytes
     * allocated between two samples. */
    bool profile;
    uint32_t profile_rate;
    char profile_file[HMM_PATH_MAX];
    /* HMM_HEAP_MAP: where the heap map goes (heapmap.c), "%p" as above;
     * empty: not set.  HMM_HEAP_MAP_INTERVAL: ms between its samples. */
    char heap_map[HMM_PATH_MAX];
    uint32_t heap_map_interval;
} hmm_options;

extern hmm_options hmm_opt;

/* Reads the environment once; safe before constructors, allocates nothing. */
void hmm_options_init(void);

#endif
