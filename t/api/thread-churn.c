/*
 * thread-churn.c - threads created and exiting all the time: each allocates,
 * frees some blocks itself and leaves others to the main thread, which
 * checks and frees them after the thread is gone.  An exited thread's
 * memory must not be stranded: mapped memory stays flat as the number of
 * threads that came and went grows tenfold.
 */
#include <pthread.h>
#include <stdio.h>

#include "tap.h"
#include "testlib.h"

#define LEFT 64 /* blocks each thread leaves behind */

typedef struct job {
    const alloc_api *api;
    uint64_t seed;
    size_t work;      /* blocks allocated and freed by the thread itself */
    char *left[LEFT]; /* blocks handed to the main thread */
    size_t left_size[LEFT];
    unsigned long bad;
} job;

static void *run(void *arg)
{
    job *j = arg;
    rng r;
    rng_seed(&r, j->seed);
    enum { KEEP = 128 };
    char *keep[KEEP] = {0};
    size_t keep_size[KEEP] = {0};
    for (size_t i = 0; i < j->work; i++) {
        size_t k = rng_below(&r, KEEP);
        if (keep[k]) {
            if (sparse_check(keep[k], keep_size[k], keep_size[k], j->seed + k) != -1)
                j->bad++;
            j->api->release(keep[k]);
        }
        keep_size[k] = rng_below(&r, 64) == 0 ? rng_below(&r, 200000) : rng_below(&r, 512);
        keep[k] = j->api->alloc(keep_size[k]);
        if (!keep[k])
            bail("alloc failed in a thread");
        sparse_fill(keep[k], keep_size[k], j->seed + k);
    }
    for (size_t k = 0; k < KEEP; k++)
        if (keep[k]) {
            if (sparse_check(keep[k], keep_size[k], keep_size[k], j->seed + k) != -1)
                j->bad++;
            j->api->release(keep[k]);
        }
    for (size_t k = 0; k < LEFT; k++) {
        j->left_size[k] = rng_below(&r, 8) == 0 ? rng_below(&r, 100000) : rng_below(&r, 1000);
        j->left[k] = j->api->alloc(j->left_size[k]);
        if (!j->left[k])
            bail("alloc failed in a thread");
        fill(j->left[k], j->left_size[k], j->seed ^ k);
    }
    return NULL;
}

/* Runs count threads, batch at a time; returns the number of bad blocks. */
static unsigned long churn(const alloc_api *a, size_t count, size_t batch, size_t work,
                           uint64_t seed)
{
    enum { MAXBATCH = 8 };
    pthread_t t[MAXBATCH];
    static job jobs[MAXBATCH];
    unsigned long bad = 0;
    for (size_t done = 0; done < count; done += batch) {
        for (size_t i = 0; i < batch; i++) {
            memset(&jobs[i], 0, sizeof jobs[i]);
            jobs[i].api = a;
            jobs[i].seed = seed + done + i;
            jobs[i].work = work;
            if (pthread_create(&t[i], NULL, run, &jobs[i]) != 0)
                bail("pthread_create failed");
        }
        for (size_t i = 0; i < batch; i++) {
            pthread_join(t[i], NULL);
            bad += jobs[i].bad;
            for (size_t k = 0; k < LEFT; k++) {
                if (check_fill(jobs[i].left[k], jobs[i].left_size[k], jobs[i].seed ^ k) != -1)
                    bad++;
                a->release(jobs[i].left[k]);
            }
        }
    }
    return bad;
}

static void *detached(void *arg)
{
    const alloc_api *a = arg;
    for (size_t i = 0; i < 100; i++)
        a->release(a->alloc(i * 7));
    void *p = a->alloc(1000); /* freed by nobody but the exiting thread's cache */
    a->release(p);
    return NULL;
}

static void test_api(const alloc_api *a, uint64_t seed)
{
    HmmStats s0, s1, s2;
    unsigned long bad = churn(a, 40, 4, 2000, seed);
    HmmGetStats(&s0);
    bad += churn(a, 200, 4, 2000, seed + 1000);
    HmmGetStats(&s1);
    bad += churn(a, 1000, 8, 300, seed + 100000);
    HmmGetStats(&s2);
    is_int(0, (long long)bad,
           "%s: 1240 threads: blocks freed by their thread and left to main intact", a->name);
    /* If every exited thread stranded even one slab, 1000 threads would
     * leave a gigabyte mapped. */
    long long growth = (long long)s2.mapped - (long long)s1.mapped;
    ok(growth <= (long long)(64 << 20),
       "%s: mapped memory stays flat while 1000 threads come and go (%lld -> %lld KiB)", a->name,
       (long long)s1.mapped >> 10, (long long)s2.mapped >> 10);
    diag("%s: heaps %llu, abandoned %llu, reused %llu; mapped %llu KiB after 40 threads", a->name,
         (unsigned long long)s2.heaps, (unsigned long long)s2.heaps_abandoned,
         (unsigned long long)s2.heaps_reused, (unsigned long long)s0.mapped >> 10);

    /* Detached threads that exit while the main thread keeps allocating. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    size_t started = 0;
    for (size_t i = 0; i < 300; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, detached, (void *)a) == 0)
            started++;
        a->release(a->alloc(i * 13));
    }
    pthread_attr_destroy(&attr);
    ok(started == 300, "%s: 300 detached threads allocate and exit", a->name);
}

int main(void)
{
    uint64_t seed = test_seed(31337);
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++)
        test_api(&test_apis[i], seed + i * 7919);
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
