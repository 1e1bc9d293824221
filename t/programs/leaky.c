/*
 * leaky.c - a program with known leaks, run by t/programs/leaks.sh under
 * hmm-run --leaks.  Built with -g, without -rdynamic, and linked with
 * neither libhmm nor the TAP library: an ordinary program.  The lines
 * marked LEAK_* are the call sites the report must name.
 *
 *   leaky plain    3 x 1000 bytes from leak_a(), 1 x 5000 from leak_b()
 *                  through inner(), 1 x 2000 from nest() 12 calls deep;
 *                  frees everything else
 *   leaky threads  4 threads leak 1000 bytes each from leak_a() and free
 *                  blocks the main thread allocated
 *   leaky fork     leak_a() 3 times, then a child leaks 2 x 300 bytes
 *                  from leak_child() and exits; the parent waits
 * Prints "done" and exits with status 7.
 */
/* Compiled as a program under development is, whatever CFLAGS says: each
 * call a call, each function its own. */
#pragma GCC optimize("O0")

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *keep[64];
static int nkeep;

/* Not inlined, and not ending in a tail call, so each keeps its frame. */
__attribute__((noinline)) static void leak_a(void)
{
    void *p = malloc(1000); /* LEAK_A */
    memset(p, 1, 1000);
    keep[__atomic_fetch_add(&nkeep, 1, __ATOMIC_RELAXED)] = p;
}

__attribute__((noinline)) static void *inner(void)
{
    void *p = malloc(5000); /* LEAK_INNER */
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void leak_b(void)
{
    keep[__atomic_fetch_add(&nkeep, 1, __ATOMIC_RELAXED)] = inner(); /* LEAK_B */
}

__attribute__((noinline)) static void nest(int depth)
{
    if (depth)
        nest(depth - 1);
    else
        keep[__atomic_fetch_add(&nkeep, 1, __ATOMIC_RELAXED)] = malloc(2000); /* LEAK_NEST */
    __asm__ volatile("" : : : "memory");
}

__attribute__((noinline)) static void leak_child(void)
{
    for (int i = 0; i < 2; i++)
        keep[__atomic_fetch_add(&nkeep, 1, __ATOMIC_RELAXED)] = malloc(300); /* LEAK_CHILD */
}

/* Work that leaves nothing behind: none of it may be reported. */
static void churn(void)
{
    char *v[100];
    for (int i = 0; i < 100; i++)
        v[i] = malloc((size_t)(i * 37 % 3000 + 1));
    v[0] = realloc(v[0], 100000);
    for (int i = 0; i < 100; i++)
        free(v[i]);
}

static void *freed_here[4];

static void *thread_main(void *arg)
{
    free(arg); /* allocated by the main thread */
    churn();
    leak_a();
    return NULL;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "plain";
    churn();
    if (strcmp(mode, "plain") == 0) {
        for (int i = 0; i < 3; i++)
            leak_a();
        leak_b();
        nest(11);
    } else if (strcmp(mode, "threads") == 0) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            freed_here[i] = malloc(64);
            pthread_create(&t[i], NULL, thread_main, freed_here[i]);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    } else if (strcmp(mode, "fork") == 0) {
        for (int i = 0; i < 3; i++)
            leak_a();
        pid_t pid = fork();
        if (pid == 0) {
            leak_child();
            churn();
            exit(0);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || st != 0)
            return 1;
    } else {
        return 2;
    }
    printf("done\n");
    return 7;
}
