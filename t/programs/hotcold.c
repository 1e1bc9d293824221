/*
 * hotcold.c - a program with a known allocation profile, run by
 * t/programs/profile.sh under hmm-run --profile: of the bytes it holds,
 * 90% come from hot() and 10% from cold(); it also allocates and frees as
 * much again from churn(), which must not show in the bytes in use.  Midway it
 * sends itself SIGUSR2 and waits until the profile file named by its
 * argument appears.  Built with -g, linked with neither libhmm nor the
 * TAP library.  Prints "done"; exits 0, or 1 when no profile appeared.
 */
/* Compiled as a program under development is, whatever CFLAGS says: each
 * call a call, each function its own. */
#pragma GCC optimize("O0")

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define HOT 27000 /* x 1000 bytes */
#define COLD 3000 /* x 1000 bytes */

static void *keep[HOT + COLD];

__attribute__((noinline)) static void *hot(void)
{
    void *p = malloc(1000);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void *cold(void)
{
    void *p = calloc(1, 1000);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

__attribute__((noinline)) static void churn(void)
{
    void *p = malloc(1000);
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    size_t n = 0;
    for (int i = 0; i < HOT; i++) {
        keep[n++] = hot();
        if (i % 9 == 0)
            keep[n++] = cold();
        churn();
    }
    /* The profile is written by the next allocation that takes a slow
     * path: a large one always does. */
    raise(SIGUSR2);
    int found = 0;
    for (int i = 0; i < 200 && !found; i++) {
        void *volatile big = malloc(100000);
        free(big);
        found = access(argv[1], F_OK) == 0;
        if (!found)
            usleep(10000);
    }
    printf("done\n");
    return found ? 0 : 1;
}
