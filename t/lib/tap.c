/*
 * tap.c - the TAP library (see tap.h).  Deliberately simple: stdio only,
 * no allocation of its own beyond what stdio does.
 */
#include "tap.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long planned, run, failed;
static int lazy, plan_printed;

static void on_timeout(int sig)
{
    static const char msg[] = "Bail out! timed out (HMM_TEST_TIMEOUT)\n";
    (void)sig;
    ssize_t r = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(255);
}

static void start(void)
{
    const char *t = getenv("HMM_TEST_TIMEOUT");
    unsigned seconds = t && *t ? (unsigned)strtoul(t, NULL, 10) : 300;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (seconds > 0) {
        signal(SIGALRM, on_timeout);
        alarm(seconds);
    }
}

void plan(unsigned long count)
{
    start();
    planned = count;
    plan_printed = 1;
    printf("1..%lu\n", count);
    fflush(stdout);
}

void plan_lazy(void)
{
    start();
    lazy = 1;
}

void skip_all(const char *fmt, ...)
{
    va_list ap;
    fflush(stderr);
    printf("1..0 # SKIP ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(0);
}

static void vresult(int success, const char *fmt, va_list ap)
{
    run++;
    if (!success)
        failed++;
    fflush(stderr);
    printf("%sok %lu", success ? "" : "not ", run);
    if (fmt && *fmt) {
        printf(" - ");
        vprintf(fmt, ap);
    }
    printf("\n");
    fflush(stdout);
}

int ok(int success, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vresult(success, fmt, ap);
    va_end(ap);
    return success;
}

int is_int(long long wanted, long long seen, const char *fmt, ...)
{
    va_list ap;
    int success = wanted == seen;
    va_start(ap, fmt);
    vresult(success, fmt, ap);
    va_end(ap);
    if (!success)
        diag("wanted: %lld, seen: %lld", wanted, seen);
    return success;
}

int is_string(const char *wanted, const char *seen, const char *fmt, ...)
{
    va_list ap;
    int success;
    if (wanted == NULL || seen == NULL)
        success = wanted == seen;
    else
        success = strcmp(wanted, seen) == 0;
    va_start(ap, fmt);
    vresult(success, fmt, ap);
    va_end(ap);
    if (!success)
        diag("wanted: \"%s\", seen: \"%s\"", wanted ? wanted : "(null)", seen ? seen : "(null)");
    return success;
}

void skip(unsigned long count, const char *fmt, ...)
{
    va_list ap;
    for (unsigned long i = 0; i < count; i++) {
        run++;
        printf("ok %lu # skip ", run);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    fflush(stdout);
}

void diag(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "# ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
}

static TAP_NORETURN void vbail(const char *fmt, va_list ap, int err)
{
    fflush(stderr);
    printf("Bail out! ");
    vprintf(fmt, ap);
    if (err)
        printf(": %s", strerror(err));
    printf("\n");
    fflush(stdout);
    exit(255);
}

void bail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vbail(fmt, ap, 0);
}

void sysbail(const char *fmt, ...)
{
    int err = errno;
    va_list ap;
    va_start(ap, fmt);
    vbail(fmt, ap, err);
}

uint64_t test_seed(uint64_t fallback)
{
    const char *s = getenv("HMM_TEST_SEED");
    uint64_t seed = fallback;
    if (s && *s)
        seed = strtoull(s, NULL, 0);
    printf("# seed %" PRIu64 " (set HMM_TEST_SEED to repeat with another)\n", seed);
    fflush(stdout);
    return seed;
}

int tap_done(void)
{
    if (lazy && !plan_printed) {
        printf("1..%lu\n", run);
        planned = run;
        plan_printed = 1;
    }
    fflush(stdout);
    if (run != planned) {
        diag("planned %lu tests but ran %lu", planned, run);
        return 1;
    }
    if (failed) {
        diag("%lu of %lu tests failed", failed, run);
        return 1;
    }
    return 0;
}

int tap_run_child(int (*child)(void *), void *arg, char *err, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0)
        sysbail("pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        _exit(child(arg));
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < size && (n = read(fds[0], err + len, size - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(fds[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid)
        sysbail("waitpid");
    return status;
}

void tap_run_with_env(const char *name, const char *value, char **argv)
{
    const char *now = getenv(name);
    if (now && strcmp(now, value) == 0)
        return;
    setenv(name, value, 1);
    execv("/proc/self/exe", argv);
    sysbail("cannot re-execute %s", argv[0]);
}
