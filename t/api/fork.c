/*
 * fork.c - fork() while other threads allocate: every child must find a
 * working allocator (malloc, free, realloc, calloc, a new thread, and the
 * blocks inherited from the parent), and exit 0.  A child that deadlocks is
 * killed by alarm() and counted as a failure.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

#define WORKERS 3
#define FORKS 60

static const alloc_api *api;
static volatile int stop;
static uint64_t seed;

static void *worker(void *arg)
{
    rng r;
    char *keep[64] = {0};
    rng_seed(&r, seed + (uintptr_t)arg);
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        size_t k = rng_below(&r, 64);
        api->release(keep[k]);
        size_t n = rng_below(&r, 32) == 0 ? rng_below(&r, 3 << 20) : rng_below(&r, 2000);
        keep[k] = api->alloc(n);
        if (keep[k] && n)
            keep[k][n - 1] = 1;
    }
    for (size_t k = 0; k < 64; k++)
        api->release(keep[k]);
    return NULL;
}

static void *child_thread(void *arg)
{
    char *p = api->alloc(5000);
    if (!p)
        return NULL;
    fill(p, 5000, 5);
    *(int *)arg = check_fill(p, 5000, 5) == -1;
    api->release(p);
    return NULL;
}

/* What a child does; returns its exit status. */
static int child(char **inherited, size_t ninherited)
{
    signal(SIGALRM, SIG_DFL); /* a deadlock kills the child, not the TAP stream */
    alarm(20);
    for (size_t i = 0; i < ninherited; i++) {
        if (check_fill(inherited[i], i * 100, i) != -1)
            return 2;
        api->release(inherited[i]);
    }
    rng r;
    rng_seed(&r, seed ^ (uint64_t)getpid());
    for (size_t i = 0; i < 2000; i++) {
        size_t n = rng_below(&r, 64) == 0 ? rng_below(&r, 4 << 20) : rng_below(&r, 3000);
        char *p = i % 3 == 0 ? api->zalloc(1, n) : api->alloc(n);
        if (!p)
            return 3;
        sparse_fill(p, n, i);
        p = api->resize(p, n + 100);
        if (!p || sparse_check(p, n, n, i) != -1)
            return 4;
        api->release(p);
    }
#ifndef __SANITIZE_ADDRESS__
    /* Not under ASan: its own allocator, used by pthread_create, is not
     * fork-safe in a multi-threaded parent and hangs the child now and then. */
    pthread_t t;
    int thread_ok = 0;
    if (pthread_create(&t, NULL, child_thread, &thread_ok) != 0)
        return 5;
    pthread_join(t, NULL);
    if (!thread_ok)
        return 6;
#else
    (void)child_thread;
#endif
    return 0;
}

static void test_api(const alloc_api *a)
{
    pthread_t t[WORKERS];
    size_t good = 0;
    api = a;
    stop = 0;
    for (uintptr_t i = 0; i < WORKERS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
            bail("pthread_create failed");
    for (size_t f = 0; f < FORKS; f++) {
        enum { NINH = 20 };
        char *inherited[NINH];
        for (size_t i = 0; i < NINH; i++) {
            inherited[i] = a->alloc(i * 100);
            fill(inherited[i], i * 100, i);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
            sysbail("fork");
        if (pid == 0)
            exit(child(inherited, NINH));
        for (size_t i = 0; i < NINH; i++)
            a->release(inherited[i]);
        int status;
        if (waitpid(pid, &status, 0) != pid)
            sysbail("waitpid");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            good++;
        else if (WIFSIGNALED(status))
            diag("%s: fork %zu: child killed by signal %d%s", a->name, f, WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? " (deadlock: alarm)" : "");
        else
            diag("%s: fork %zu: child exited with %d", a->name, f, WEXITSTATUS(status));
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    is_int(FORKS, (long long)good,
           "%s: %d children forked while %d threads allocate all work and exit 0", a->name, FORKS,
           WORKERS);
}

int main(int argc, char **argv)
{
    (void)argc;
#ifdef __SANITIZE_ADDRESS__
    /* The child would start libhmm's purger thread, and thread creation is
     * what hangs under ASan's allocator after a fork (see child()); the
     * plain build tests the purger's restart in a child. */
    tap_run_with_env("HMM_PURGE_THREAD", "0", argv);
#else
    (void)argv;
#endif
    seed = test_seed(4242);
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++)
        test_api(&test_apis[i]);
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
