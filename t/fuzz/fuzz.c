/*
 * fuzz.c - the differential fuzzer: threads run random calls of the malloc
 * family and the Hmm* API over the shadow model of fuzz-model.c, passing
 * blocks to each other through its shared slots, and check the calling
 * thread's heap with hmm_check_heap() as they go.
 *
 *   t/fuzz/fuzz [--seed N] [--time SECONDS] [--ops N] [--threads N]
 *
 * --ops bounds the calls each thread makes, --time the run (default 10 s
 * when neither is given).  The seed (default: from the clock) decides
 * everything the model does; with one thread the run is a pure function of
 * it.  A finding, an abort or a crash prints the command line that replays
 * the run up to the failing call, and the exit status is non-zero.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz-model.h"
#include "core/heap.h"

#define MAX_THREADS 8
/* Calls between two heap checks and between two looks at the clock. */
#define CHECK_EVERY 1024
#define CLOCK_EVERY 64

typedef struct worker {
    pthread_t thread;
    unsigned id;
    uint64_t ops;
} worker;

static uint64_t seed, max_ops = UINT64_MAX;
static unsigned nthreads;
static double deadline;
static const char *self;
static worker workers[MAX_THREADS];
static __thread worker *current;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Async-signal-safe pieces of the replay line. */
static void put(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void put_u64(uint64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    *--p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(p);
}

/* The failing thread's count of calls, this one included, is the --ops
 * that reaches the failure again. */
static void print_replay(void)
{
    put("fuzz: replay: ");
    put(self);
    put(" --seed ");
    put_u64(seed);
    put(" --threads ");
    put_u64(nthreads);
    uint64_t ops = 0;
    if (current) {
        ops = current->ops + 1;
    } else {
        /* The final drain: the whole run. */
        for (unsigned i = 0; i < nthreads; i++)
            ops = workers[i].ops > ops ? workers[i].ops : ops;
    }
    put(" --ops ");
    put_u64(ops);
    put(nthreads > 1 ? "  (several threads: the interleaving will differ)\n" : "\n");
}

static void on_finding(void)
{
    print_replay();
    _exit(1);
}

static void on_signal(int sig)
{
    put("fuzz: fatal signal ");
    put_u64((uint64_t)sig);
    put("\n");
    print_replay();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void *run(void *arg)
{
    worker *w = arg;
    fz_source src = {0};
    current = w;
    rng_seed(&src.r, nthreads == 1 ? seed : mix64(seed + w->id));
    for (; w->ops < max_ops; w->ops++) {
        if (w->ops % CLOCK_EVERY == 0 && now_s() >= deadline)
            break;
        fz_step(&src);
        if (w->ops % CHECK_EVERY == CHECK_EVERY - 1)
            hmm_check_heap();
    }
    hmm_check_heap();
    return NULL;
}

static uint64_t number(const char *opt, const char *v)
{
    char *end;
    unsigned long long n = v ? strtoull(v, &end, 0) : 0;
    if (!v || *end) {
        fprintf(stderr,
                "usage: %s [--seed N] [--time SECONDS] [--ops N] [--threads 1-8]\n"
                "(bad or missing value for %s)\n",
                self, opt);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    double seconds = 0;
    self = argv[0];
    seed = mix64((uint64_t)time(NULL) ^ (uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--seed"))
            seed = number(argv[i], v);
        else if (!strcmp(argv[i], "--time"))
            seconds = (double)number(argv[i], v);
        else if (!strcmp(argv[i], "--ops"))
            max_ops = number(argv[i], v);
        else if (!strcmp(argv[i], "--threads"))
            nthreads = (unsigned)number(argv[i], v);
        else
            number(argv[i], NULL);
        i++;
    }
    /* Unless asked, the seed picks the thread count too. */
    if (nthreads == 0)
        nthreads = 1 + (unsigned)(seed % MAX_THREADS);
    if (nthreads > MAX_THREADS)
        number("--threads", NULL);
    if (seconds == 0 && max_ops == UINT64_MAX)
        seconds = 10;
    double start = now_s();
    deadline = seconds > 0 ? start + seconds : 1e300;
    printf("fuzz: seed %llu, %u thread%s\n", (unsigned long long)seed, nthreads,
           nthreads > 1 ? "s" : "");
    fflush(stdout);

    static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], on_signal);
    fz_init(128 * nthreads, on_finding);
    for (unsigned i = 0; i < nthreads; i++) {
        workers[i].id = i;
        if (pthread_create(&workers[i].thread, NULL, run, &workers[i]) != 0) {
            perror("pthread_create");
            return 2;
        }
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        pthread_join(workers[i].thread, NULL);
        total += workers[i].ops;
    }
    fz_drain();
    hmm_check_heap();
    double elapsed = now_s() - start;
    printf("fuzz: seed %llu, %u thread%s: %llu operations in %.1f s (%.0f/s), no finding\n",
           (unsigned long long)seed, nthreads, nthreads > 1 ? "s" : "", (unsigned long long)total,
           elapsed, (double)total / elapsed);
    return 0;
}
