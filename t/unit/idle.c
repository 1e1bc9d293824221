/*
 * idle.c - memory goes back while the program sleeps: after blocks of
 * every kind are freed and the program makes no allocator call at all, the
 * background purger must bring the resident set down (measured by the
 * kernel, in /proc/self/statm), for the main thread's heap, for another
 * live thread's heap, for an exited thread's heap that another thread
 * freed, and in a fork child; a program that frees little
 * must not start it, and one whose main thread calls pthread_exit must
 * still end (the purger is no thread it waits for).  Bounds are generous
 * and waits long (up to 5 s, 10 s for the end): nothing here times the
 * purger.  Runs with HMM_PURGE_THREAD=1 and HMM_PURGE_DELAY=100 (the test
 * re-executes itself to set them).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/purger.h"
#include "tap.h"
#include "testlib.h"

/* Read with open/read: stdio would allocate (from glibc here, but the
 * point is that nothing but the purger acts meanwhile). */
static long resident_kib(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strchr(buf, ' ');
    return p ? strtol(p + 1, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* Sleeps, making no allocator call, until the resident set is at most
 * target KiB or 5 s have passed; returns the resident set reached. */
static long wait_below(long target)
{
    long res = resident_kib();
    for (int i = 0; i < 100 && res > target; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        res = resident_kib();
    }
    return res;
}

enum { NSMALL = 200000, SMALL = 160, NLARGE = 96, LARGE = 384 * 1024, NHUGE = 3, HUGE = 6 << 20 };

struct blocks {
    char *small[NSMALL], *large[NLARGE], *huge[NHUGE];
};

/* About 30 MiB small, 36 MiB large, 18 MiB huge, written.  One in sixteen
 * small and large blocks stays live, the small ones in runs of 1024 (as a
 * program's long-lived data clusters by age), so that most slabs empty. */
static bool kept(size_t i, size_t run) { return i / run % 16 == 0; }

static void fill_all(struct blocks *b)
{
    for (size_t i = 0; i < NSMALL; i++)
        fill(b->small[i] = HmmAlloc(SMALL), SMALL, i);
    for (size_t i = 0; i < NLARGE; i++)
        fill(b->large[i] = HmmAlloc(LARGE), LARGE, i);
    for (size_t i = 0; i < NHUGE; i++)
        fill(b->huge[i] = HmmAlloc(HUGE), HUGE, i);
}

static void free_most(struct blocks *b)
{
    for (size_t i = 0; i < NSMALL; i++)
        if (!kept(i, 1024))
            HmmFree(b->small[i]);
    for (size_t i = 0; i < NLARGE; i++)
        if (!kept(i, 1))
            HmmFree(b->large[i]);
    for (size_t i = 0; i < NHUGE; i++)
        HmmFree(b->huge[i]);
}

/* The blocks free_most kept, checked and freed. */
static size_t free_rest(struct blocks *b)
{
    size_t bad = 0;
    for (size_t i = 0; i < NSMALL; i++) {
        if (kept(i, 1024)) {
            bad += check_fill(b->small[i], SMALL, i) != -1;
            HmmFree(b->small[i]);
        }
    }
    for (size_t i = 0; i < NLARGE; i++) {
        if (kept(i, 1)) {
            bad += check_fill(b->large[i], LARGE, i) != -1;
            HmmFree(b->large[i]);
        }
    }
    return bad;
}

static struct blocks blocks;

static void test_little(void)
{
    for (int i = 0; i < 100; i++) {
        char *p = HmmAlloc(20000);
        fill(p, 20000, i);
        HmmFree(p);
    }
    is_int(HMM_PURGER_OFF, hmm_purger_state, "a program that frees little starts no purger");
}

static void test_main_thread(void)
{
    long peak = (fill_all(&blocks), resident_kib());
    free_most(&blocks);
    long after = wait_below(peak - 60 * 1024);
    ok(after <= peak - 60 * 1024,
       "80 MiB freed, then no call: the main thread's heap goes back (resident %ld -> %ld KiB)",
       peak, after);
    is_int(0, (long long)free_rest(&blocks), "live blocks keep their contents");
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int step;

static void set_step(int s)
{
    pthread_mutex_lock(&mu);
    step = s;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void wait_step(int s)
{
    pthread_mutex_lock(&mu);
    while (step < s)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void *worker(void *arg)
{
    (void)arg;
    fill_all(&blocks);
    set_step(1);
    wait_step(2);
    free_most(&blocks);
    set_step(3);
    /* Alive, making no call, until the main thread has measured. */
    wait_step(4);
    return (void *)free_rest(&blocks);
}

static void test_other_thread(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        bail("pthread_create failed");
    wait_step(1);
    long peak = resident_kib();
    set_step(2);
    wait_step(3);
    long after = wait_below(peak - 60 * 1024);
    ok(after <= peak - 60 * 1024,
       "another live thread's heap goes back while it waits (resident %ld -> %ld KiB)", peak,
       after);
    set_step(4);
    void *bad;
    pthread_join(t, &bad);
    is_int(0, (long long)(size_t)bad, "its live blocks keep their contents");
}

static void test_fork_child(void)
{
    pid_t pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        long peak = (fill_all(&blocks), resident_kib());
        free_most(&blocks);
        long after = wait_below(peak - 60 * 1024);
        _exit(after <= peak - 60 * 1024 && free_rest(&blocks) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a fork child's freed memory goes back too (its own purger)");
}

static void *fill_and_exit(void *arg)
{
    struct blocks *b = arg;
    for (size_t i = 0; i < NSMALL; i++)
        fill(b->small[i] = HmmAlloc(SMALL), SMALL, i);
    for (size_t i = 0; i < NLARGE; i++)
        fill(b->large[i] = HmmAlloc(LARGE), LARGE, i);
    return NULL;
}

/* A thread allocates about 66 MiB of small and large blocks and exits
 * without freeing any; the main thread frees them all, then makes no
 * call.  The frees land in the exited thread's heap, drained by the
 * freeing thread: nothing of the main thread's own heap changes, so
 * nothing of its own would start the purger.  Run by a fresh process
 * (the test re-executed with "exited-thread"), whose heaps and purger
 * hold nothing of the tests before; its exit status is the verdict. */
static int exited_thread(void)
{
    /* A heap of the main thread's own first: a thread with none would
     * adopt the exited thread's at its first free. */
    char *mine = HmmAlloc(64);
    pthread_t t;
    if (!mine || pthread_create(&t, NULL, fill_and_exit, &blocks) != 0)
        return 2;
    pthread_join(t, NULL);
    long peak = resident_kib();
    size_t bad = 0;
    for (size_t i = 0; i < NSMALL; i++) {
        bad += check_fill(blocks.small[i], SMALL, i) != -1;
        HmmFree(blocks.small[i]);
    }
    for (size_t i = 0; i < NLARGE; i++) {
        bad += check_fill(blocks.large[i], LARGE, i) != -1;
        HmmFree(blocks.large[i]);
    }
    long after = wait_below(peak - 50 * 1024);
    HmmFree(mine);
    printf("# resident %ld -> %ld KiB, %zu blocks changed\n", peak, after, bad);
    return after <= peak - 50 * 1024 && bad == 0 ? 0 : 1;
}

static void test_exited_thread(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        execl("/proc/self/exe", "idle", "exited-thread", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "an exited thread's blocks, freed by another thread that then makes no call, go back");
}

static void *free_and_return(void *arg)
{
    (void)arg;
    fill_all(&blocks);
    free_most(&blocks);
    return NULL;
}

/* A child whose main thread starts the purger, then leaves with
 * pthread_exit after a thread of its own did the same: the process must
 * end with its last thread.  Waits up to 10 s. */
static void test_pthread_exit(void)
{
    pid_t pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        pthread_t t;
        fill_all(&blocks);
        free_most(&blocks);
        free_rest(&blocks);
        if (pthread_create(&t, NULL, free_and_return, NULL) == 0)
            pthread_detach(t);
        pthread_exit(NULL);
    }
    int status = 0;
    pid_t r = 0;
    for (int i = 0; i < 200 && (r = waitpid(pid, &status, WNOHANG)) == 0; i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (r == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ok(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a process whose main thread calls pthread_exit ends: the purger does not keep it");
}

int main(int argc, char **argv)
{
    if (resident_kib() < 0)
        skip_all("no /proc/self/statm");
    setenv("HMM_PURGE_DELAY", "100", 1); /* carried into the re-execution */
    tap_run_with_env("HMM_PURGE_THREAD", "1", argv);
    if (argc > 1 && strcmp(argv[1], "exited-thread") == 0)
        return exited_thread();
    plan(8);
    test_little();
    test_main_thread();
    test_other_thread();
    test_fork_child();
    test_exited_thread();
    test_pthread_exit();
    return tap_done();
}
