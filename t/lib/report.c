/*
 * report.c - runs a misuse case in a child and checks libhmm's one-line
 * report (see report.h).
 */
#include "report.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

void *volatile *report_shared;

static int run_case(void *arg)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGALRM, SIG_DFL);
    alarm(10);
    (*(void (**)(void))arg)();
    return 0; /* not reached when the misuse is caught */
}

int expect_abort(const char *desc, void (*fn)(void), const char *func, const char *what)
{
    if (!report_shared) {
        report_shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (report_shared == MAP_FAILED)
            sysbail("mmap");
    }
    bad_ptr = NULL;
    char buf[4096];
    int status = tap_run_child(run_case, &fn, buf, sizeof buf);

    char want[128];
    int prefix = snprintf(want, sizeof want, "libhmm: %s(): %s ", func, what);
    int good = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    const char *nl = strchr(buf, '\n');
    if (good)
        good = nl != NULL && nl[1] == '\0' && strncmp(buf, want, (size_t)prefix) == 0;
    if (good) {
        char *end;
        unsigned long long addr = strtoull(buf + prefix, &end, 16);
        good = strncmp(buf + prefix, "0x", 2) == 0 && end == nl &&
               addr == (unsigned long long)(uintptr_t)bad_ptr;
    }
    ok(good, "%s: aborts with \"%s%p\"", desc, want, bad_ptr);
    if (!good) {
        if (WIFSIGNALED(status))
            diag("child killed by signal %d", WTERMSIG(status));
        else
            diag("child exited with status %d", WEXITSTATUS(status));
        diag("stderr: \"%s\"", buf);
    }
    return good;
}
