/*
 * oom.c - running out of address space is not the end: once the program
 * frees what it allocated, new requests must succeed again, right away,
 * whatever the purge delay.  Each case runs in a forked child whose
 * address space is capped with RLIMIT_AS (the rest of the test run keeps
 * its own): it allocates until the allocator returns NULL (which must come
 * with errno ENOMEM, never a crash), frees everything, and asks again.
 * The memory is held by the calling thread's heap (large blocks, then
 * small blocks) or by the heap of a thread that has exited.  Under
 * AddressSanitizer, which reserves terabytes of address space, a cap
 * cannot work and the test is skipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "testlib.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The malloc family where libhmm provides it, else the Hmm* API. */
static const alloc_api *api = &test_apis[N_APIS - 1];

/* Room left under the cap, above what the process has mapped already. */
#define HEADROOM (192 * MiB)
#define LARGE (100 * KiB)
#define HUGE (5 * MiB)
#define N_HUGE 10
#define MAX_LARGE (HEADROOM / LARGE + 64)

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Caps the address space at what is mapped now plus HEADROOM. */
static int cap_address_space(void)
{
    char buf[64] = "";
    int fd = open("/proc/self/statm", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    unsigned long pages;
    if (n <= 0 || sscanf(buf, "%lu", &pages) != 1)
        return -1;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + HEADROOM;
    return setrlimit(RLIMIT_AS, &rl);
}

/* Allocates size-byte blocks until NULL, into v (at most max of them).
 * Returns how many, or -1 when the failure was not ENOMEM or never came. */
static long fill_up(void **v, size_t max, size_t size)
{
    for (size_t i = 0; i < max; i++) {
        errno = 0;
        if (!(v[i] = api->alloc(size))) {
            if (errno != ENOMEM) {
                diag("%s(%zu) #%zu: NULL with errno %d, not ENOMEM", api->name, size, i, errno);
                return -1;
            }
            return (long)i;
        }
        ((char *)v[i])[0] = 1; /* touched, as a program would */
    }
    diag("%zu blocks of %zu bytes and still no NULL: is the cap working?", max, size);
    return -1;
}

/* Asks for count blocks of size bytes, fills them, frees them; true when
 * all were granted. */
static bool ask(size_t count, size_t size)
{
    void *v[N_HUGE];
    size_t got = 0;
    for (; got < count && got < N_HUGE; got++) {
        errno = 0;
        if (!(v[got] = api->alloc(size))) {
            diag("request %zu of %zu for %zu bytes: NULL, errno %d", got + 1, count, size, errno);
            break;
        }
        memset(v[got], 0xa5, size);
    }
    for (size_t i = 0; i < got; i++)
        api->release(v[i]);
    return got == count;
}

static void *large[MAX_LARGE];

/* Large blocks until NULL, all freed, then ten huge requests held at once,
 * and a huge block allocated before grown by realloc. */
static int large_then_huge(void *arg)
{
    (void)arg;
    if (cap_address_space() != 0)
        return 10;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *keep = api->alloc(HUGE);
    if (!keep)
        return 3;
    memset(keep, 0x5a, HUGE);
    long n = fill_up(large, MAX_LARGE, LARGE);
    if (n < 0)
        return 1;
    diag("%ld blocks of 100 KB until ENOMEM", n);
    for (long i = 0; i < n; i++)
        api->release(large[i]);
    if (!ask(N_HUGE, HUGE))
        return 2;
    diag("all freed: 10 x 5 MiB granted, held at once");
    errno = 0;
    char *grown = api->resize(keep, 12 * HUGE);
    if (!grown || !all_bytes(grown, HUGE, 0x5a)) {
        diag("realloc of a 5 MiB block to 60 MiB: %p, errno %d", (void *)grown, errno);
        return 4;
    }
    api->release(grown);
    diag("a 5 MiB block from before grown to 60 MiB by realloc; %.0f ms", ms_since(&t0));
    return 0;
}

/* Small blocks until NULL, chained through themselves (no array to hold
 * them), all freed, then a huge and a large request. */
static int small_then_huge(void *arg)
{
    (void)arg;
    if (cap_address_space() != 0)
        return 10;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    void *head = NULL;
    long n = 0;
    for (;;) {
        errno = 0;
        void **b = api->alloc(64);
        if (!b) {
            if (errno != ENOMEM) {
                diag("%s(64) #%ld: NULL with errno %d, not ENOMEM", api->name, n, errno);
                return 1;
            }
            break;
        }
        *b = head;
        head = b;
        n++;
    }
    diag("%ld blocks of 64 bytes until ENOMEM", n);
    while (head) {
        void *next = *(void **)head;
        api->release(head);
        head = next;
    }
    if (!ask(1, HUGE) || !ask(1, LARGE))
        return 2;
    diag("all freed: 5 MiB and 100 KB granted; %.0f ms", ms_since(&t0));
    return 0;
}

static long thread_got;

/* Caps the process's address space (the thread's own stack is mapped by
 * then) and allocates until NULL. */
static void *thread_fill(void *arg)
{
    (void)arg;
    thread_got = cap_address_space() == 0 ? fill_up(large, MAX_LARGE, LARGE) : -2;
    return NULL;
}

/* A thread fills the address space and exits; its blocks, freed afterwards
 * by the main thread, go back to its abandoned heap. */
static int abandoned_then_huge(void *arg)
{
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, thread_fill, NULL) != 0)
        return 10;
    pthread_join(t, NULL);
    if (thread_got < 0)
        return thread_got == -2 ? 10 : 1;
    diag("an exited thread allocated %ld blocks of 100 KB until ENOMEM", thread_got);
    for (long i = 0; i < thread_got; i++)
        api->release(large[i]);
    if (!ask(N_HUGE, HUGE))
        return 2;
    diag("freed by the main thread: 10 x 5 MiB granted, held at once");
    return 0;
}

static void run(int (*child)(void *), const char *what)
{
    char err[4096];
    int status = tap_run_child(child, NULL, err, sizeof err);
    for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
        diag("%s", line[0] == '#' && line[1] == ' ' ? line + 2 : line);
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", what)) {
        if (WIFSIGNALED(status))
            diag("child killed by signal %d", WTERMSIG(status));
        else
            diag("child exited with status %d", WEXITSTATUS(status));
    }
}

int main(void)
{
#ifdef UNDER_ASAN
    skip_all("AddressSanitizer reserves more address space than any RLIMIT_AS allows");
#endif
    plan(3);
    run(large_then_huge,
        "100 KB blocks until ENOMEM, freed: ten 5 MiB blocks and a huge realloc are granted");
    run(small_then_huge, "64-byte blocks until ENOMEM, freed: 5 MiB and 100 KB are granted");
    run(abandoned_then_huge,
        "an exited thread's 100 KB blocks until ENOMEM, freed: ten 5 MiB blocks are granted");
    return tap_done();
}
