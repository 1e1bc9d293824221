/*
 * first-call.c - every entry point works as the very first call into libhmm
 * in a fresh process (as when a program's first act is free(NULL), which
 * glibc's setlocale does under LC_ALL=C): each case re-executes this program
 * so that nothing has initialized libhmm yet, and must exit 0 silently.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

typedef int (*first_fn)(void); /* 0 when the call behaved */

static int hmm_free_null(void)
{
    HmmFree(NULL);
    return 0;
}
static int hmm_usable_null(void) { return HmmUsableSize(NULL) != 0; }
static int hmm_realloc_null(void)
{
    char *p = HmmRealloc(NULL, 100);
    if (!p)
        return 1;
    p[99] = 1;
    HmmFree(p);
    return 0;
}
static int hmm_alloc_first(void)
{
    char *p = HmmAlloc(1);
    if (!p)
        return 1;
    HmmFree(p);
    return 0;
}
static int hmm_calloc_first(void)
{
    char *p = HmmCalloc(1000, 1000);
    int bad = !p || !all_bytes(p, 1000 * 1000, 0);
    HmmFree(p);
    return bad;
}
static int hmm_aligned_first(void)
{
    void *p = HmmAlignedAlloc(1 << 16, 100);
    int bad = !p || !aligned_to(p, 1 << 16);
    HmmFree(p);
    return bad;
}
static int hmm_stats_first(void)
{
    HmmStats s;
    return HmmGetStats(&s) != 0;
}
static int hmm_too_big_first(void)
{
    volatile size_t size = SIZE_MAX; /* hidden from gcc's size warnings */
    errno = 0;
    return HmmAlloc(size) != NULL || errno != ENOMEM;
}

#if HMM_TEST_INTERPOSE
static int free_null(void)
{
    free(NULL);
    return 0;
}
static int realloc_null(void)
{
    char *p = realloc(NULL, 100);
    if (!p)
        return 1;
    p[99] = 1;
    free(p);
    return 0;
}
static int usable_null(void) { return malloc_usable_size(NULL) != 0; }
static int free_sized_null(void)
{
    free_sized(NULL, 0);
    return 0;
}
static int posix_memalign_first(void)
{
    void *p;
    if (posix_memalign(&p, 4096, 10) != 0 || !aligned_to(p, 4096))
        return 1;
    free(p);
    return 0;
}
static int calloc_first(void)
{
    char *p = calloc(3, 5000);
    int bad = !p || !all_bytes(p, 15000, 0);
    free(p);
    return bad;
}
#endif

static const struct {
    const char *name;
    first_fn fn;
} cases[] = {
    {"HmmFree(NULL)", hmm_free_null},
    {"HmmUsableSize(NULL)", hmm_usable_null},
    {"HmmRealloc(NULL, 100)", hmm_realloc_null},
    {"HmmAlloc(1)", hmm_alloc_first},
    {"HmmCalloc(1000, 1000)", hmm_calloc_first},
    {"HmmAlignedAlloc(64 KiB, 100)", hmm_aligned_first},
    {"HmmGetStats", hmm_stats_first},
    {"HmmAlloc(SIZE_MAX)", hmm_too_big_first},
#if HMM_TEST_INTERPOSE
    {"free(NULL)", free_null},
    {"realloc(NULL, 100)", realloc_null},
    {"malloc_usable_size(NULL)", usable_null},
    {"free_sized(NULL, 0)", free_sized_null},
    {"posix_memalign(4096, 10)", posix_memalign_first},
    {"calloc(3, 5000)", calloc_first},
#endif
};
#define N_CASES (sizeof cases / sizeof cases[0])

struct case_run {
    const char *argv0;
    size_t index;
};

/* In the child: a fresh image of this program runs one case, so nothing
 * has called into libhmm before it. */
static int exec_case(void *arg)
{
    const struct case_run *run = arg;
    char num[32];
    snprintf(num, sizeof num, "%zu", run->index);
    alarm(20);
    execl("/proc/self/exe", run->argv0, "--case", num, (char *)NULL);
    return 98;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--case") == 0) {
        /* Nothing before this call may allocate. */
        size_t i = strtoul(argv[2], NULL, 10);
        return i < N_CASES ? cases[i].fn() : 99;
    }
    plan_lazy();
    for (size_t i = 0; i < N_CASES; i++) {
        char err[2048];
        struct case_run run = {argv[0], i};
        int status = tap_run_child(exec_case, &run, err, sizeof err);
        size_t len = strlen(err);
        int good = WIFEXITED(status) && WEXITSTATUS(status) == 0 && len == 0;
        ok(good, "%s as the first call into libhmm", cases[i].name);
        if (!good) {
            if (WIFSIGNALED(status))
                diag("killed by signal %d", WTERMSIG(status));
            else
                diag("exit status %d", WEXITSTATUS(status));
            if (len)
                diag("stderr: %s", err);
        }
    }
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
