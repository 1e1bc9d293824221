/*
 * hmm-spawn - run one command and report its cost: the launcher of
 * hmm-run --compare (installed as /usr/libexec/libhmm/hmm-spawn) and of the
 * benchmark suite (built as bench/bin/spawn).
 *
 * Usage: hmm-spawn RESULT TIMEOUT PRELOAD COMMAND [ARG...]
 *
 * Runs COMMAND (with LD_PRELOAD=PRELOAD unless PRELOAD is "-"), kills it
 * after TIMEOUT seconds (0: never), and writes one line to the file RESULT:
 *   status=S wall=SECONDS maxrss_kb=K utime=U stime=S timeout=0|1
 * where S is the raw wait status.  The Python runners start commands
 * through this small program rather than directly because Linux charges a
 * process, in ru_maxrss, the resident set its parent had when it called
 * exec: from a python3 runner that would put a 20 MiB floor under every
 * figure, from here about 1 MiB.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (child > 0)
        kill(child, SIGKILL);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s RESULT TIMEOUT PRELOAD COMMAND [ARG...]\n", argv[0]);
        return 2;
    }
    const char *result = argv[1];
    unsigned timeout = (unsigned)atoi(argv[2]);
    const char *preload = argv[3];
    struct timespec t0, t1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    child = fork();
    if (child < 0) {
        perror("spawn: fork");
        return 2;
    }
    if (child == 0) {
        if (strcmp(preload, "-") != 0)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execvp(argv[4], argv + 4);
        fprintf(stderr, "spawn: %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    if (timeout)
        alarm(timeout);
    int status;
    struct rusage ru;
    pid_t r;
    while ((r = wait4(child, &status, 0, &ru)) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    alarm(0);
    if (r < 0) {
        perror("spawn: wait4");
        return 2;
    }
    FILE *f = fopen(result, "w");
    if (!f) {
        perror(result);
        return 2;
    }
    fprintf(f,
            "status=%d wall=%.6f maxrss_kb=%ld utime=%.6f stime=%.6f timeout=%d minflt=%ld "
            "majflt=%ld\n",
            status, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            ru.ru_maxrss, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, (int)timed_out,
            ru.ru_minflt, ru.ru_majflt);
    fclose(f);
    return 0;
}
