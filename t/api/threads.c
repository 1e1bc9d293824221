/*
 * threads.c - several threads allocate blocks, fill them, and pass them to
 * each other; the receiver checks the contents, sometimes reallocs the
 * block (a remote realloc), and frees it.  Also a producer/consumer pair in
 * both directions.  Contents are checked for every block.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

#include "tap.h"
#include "testlib.h"

#define NTHREADS 4
#define MESSAGES 25000 /* per thread */
#define MAX_QUEUED 256

typedef struct msg {
    struct msg *next;
    char *data;
    size_t size;
    uint64_t tag;
} msg;

typedef struct mailbox {
    pthread_mutex_t lock;
    msg *head;
    size_t count;
} mailbox;

static mailbox boxes[NTHREADS];
static const alloc_api *api;
static uint64_t base_seed;
static unsigned long errors_total, received_total, sent_total;
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static int finished; /* threads done sending; they keep receiving until all are */

static size_t pick_size(rng *r)
{
    uint64_t x = rng_below(r, 1000);
    if (x < 750)
        return rng_below(r, 256);
    if (x < 980)
        return 256 + rng_below(r, 16384);
    if (x < 998)
        return 16384 + rng_below(r, 1 << 20);
    return (1 << 20) + rng_below(r, 3 << 20);
}

/* Takes everything in box b; returns how many messages were handled. */
static size_t drain(int b, rng *r, unsigned long *errors)
{
    pthread_mutex_lock(&boxes[b].lock);
    msg *m = boxes[b].head;
    boxes[b].head = NULL;
    boxes[b].count = 0;
    pthread_mutex_unlock(&boxes[b].lock);
    size_t n = 0;
    while (m) {
        msg *next = m->next;
        if (sparse_check(m->data, m->size, m->size, m->tag) != -1) {
            if ((*errors)++ < 3)
                diag("thread %d: block of %zu bytes (tag %llx) arrived damaged", b, m->size,
                     (unsigned long long)m->tag);
        }
        if (rng_below(r, 8) == 0) {
            /* Resize a block another thread allocated. */
            size_t nsize = 1 + pick_size(r);
            char *q = api->resize(m->data, nsize);
            if (!q)
                bail("remote realloc to %zu failed", nsize);
            if (sparse_check(q, m->size, nsize, m->tag) != -1 && (*errors)++ < 3)
                diag("thread %d: remote realloc %zu -> %zu lost contents", b, m->size, nsize);
            m->data = q;
            m->size = nsize;
        }
        api->release(m->data);
        api->release(m);
        m = next;
        n++;
    }
    return n;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg, to = (id + 1) % NTHREADS;
    rng r;
    unsigned long errors = 0, received = 0, sent = 0;
    rng_seed(&r, base_seed * 131 + (uint64_t)id);
    for (sent = 0; sent < MESSAGES; sent++) {
        msg *m = api->alloc(sizeof *m);
        if (!m)
            bail("alloc of a message failed");
        m->size = pick_size(&r);
        m->tag = ((uint64_t)id << 32) | sent;
        m->data = api->alloc(m->size);
        if (!m->data)
            bail("alloc(%zu) failed", m->size);
        sparse_fill(m->data, m->size, m->tag);
        for (;;) {
            pthread_mutex_lock(&boxes[to].lock);
            int room = boxes[to].count < MAX_QUEUED;
            if (room) {
                m->next = boxes[to].head;
                boxes[to].head = m;
                boxes[to].count++;
            }
            pthread_mutex_unlock(&boxes[to].lock);
            if (room)
                break;
            received += drain(id, &r, &errors);
            sched_yield();
        }
        if (sent % 16 == 0)
            received += drain(id, &r, &errors);
    }
    __atomic_add_fetch(&finished, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < NTHREADS) {
        received += drain(id, &r, &errors);
        sched_yield();
    }
    pthread_mutex_lock(&totals_lock);
    errors_total += errors;
    received_total += received;
    sent_total += sent;
    pthread_mutex_unlock(&totals_lock);
    return NULL;
}

static void test_ring(const alloc_api *a, uint64_t seed)
{
    pthread_t t[NTHREADS];
    HmmStats before, after;
    api = a;
    base_seed = seed;
    errors_total = received_total = sent_total = 0;
    finished = 0;
    HmmGetStats(&before);
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0)
            bail("pthread_create failed");
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    /* Whatever is still queued is checked and freed by the main thread. */
    rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < NTHREADS; i++)
        received_total += drain(i, &r, &errors_total);
    HmmGetStats(&after);
    is_int(0, (long long)errors_total, "%s: %d threads passing blocks in a ring: contents intact",
           a->name, NTHREADS);
    is_int((long long)sent_total, (long long)received_total, "%s: every block sent was received",
           a->name);
    ok(after.remote_frees > before.remote_frees, "%s: remote frees were counted (%llu)", a->name,
       (unsigned long long)(after.remote_frees - before.remote_frees));
}

/* Producer/consumer: one thread only allocates, the other only frees. */
#define PC_BLOCKS 200000
static void *volatile pc_slots[1024];
static volatile int pc_done;

static void *consumer(void *arg)
{
    unsigned long *bad = arg;
    size_t freed = 0;
    while (freed < PC_BLOCKS) {
        size_t before = freed;
        for (size_t i = 0; i < 1024; i++) {
            void *p = __atomic_exchange_n(&pc_slots[i], NULL, __ATOMIC_ACQUIRE);
            if (!p)
                continue;
            size_t n = *(size_t *)p;
            if (check_range(p, sizeof(size_t), n, n) != -1)
                (*bad)++;
            api->release(p);
            freed++;
        }
        if (freed == before)
            sched_yield();
    }
    return NULL;
}

static void *produce(void *arg)
{
    rng r;
    (void)arg;
    rng_seed(&r, 1234);
    for (size_t k = 0; k < PC_BLOCKS;) {
        size_t i = k % 1024;
        if (__atomic_load_n(&pc_slots[i], __ATOMIC_ACQUIRE) != NULL) {
            sched_yield();
            continue;
        }
        size_t n = sizeof(size_t) + rng_below(&r, rng_below(&r, 32) == 0 ? 40000 : 300);
        char *p = api->alloc(n);
        if (!p)
            bail("alloc(%zu) failed", n);
        memcpy(p, &n, sizeof n);
        fill_range(p, sizeof n, n, n);
        __atomic_store_n(&pc_slots[i], p, __ATOMIC_RELEASE);
        k++;
    }
    return NULL;
}

static void test_producer_consumer(const alloc_api *a, int main_produces)
{
    pthread_t t;
    unsigned long bad = 0;
    rng r;
    rng_seed(&r, 99);
    api = a;
    if (main_produces) {
        if (pthread_create(&t, NULL, consumer, &bad) != 0)
            bail("pthread_create failed");
    }
    /* When the main thread consumes, a new thread produces. */
    if (!main_produces) {
        if (pthread_create(&t, NULL, produce, NULL) != 0)
            bail("pthread_create failed");
        consumer(&bad);
    } else {
        produce(NULL);
    }
    pthread_join(t, NULL);
    is_int(0, (long long)bad, "%s: %d blocks allocated by %s thread and freed by %s", a->name,
           PC_BLOCKS, main_produces ? "the main" : "a second",
           main_produces ? "another" : "the main");
}

int main(void)
{
    uint64_t seed = test_seed(2026);
    plan_lazy();
    for (size_t i = 0; i < N_APIS; i++) {
        test_ring(&test_apis[i], seed + i);
        test_producer_consumer(&test_apis[i], 1);
        test_producer_consumer(&test_apis[i], 0);
    }
#if !HMM_TEST_INTERPOSE
    skip(1, "malloc family: not libhmm's in this build (sanitizers), Hmm* API only");
#endif
    return tap_done();
}
