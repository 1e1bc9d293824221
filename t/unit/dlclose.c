/*
 * dlclose.c - a program may dlopen libhmm, use it from a second thread,
 * and dlclose it while that thread lives: when the thread exits, the C
 * library runs libhmm's thread-exit destructor, so the library must still
 * be there (it is linked -z nodelete).  Run in a child, so that a crash
 * is reported rather than taking the test down.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static void *(*alloc_fn)(size_t);
static void (*free_fn)(void *);
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int stage; /* 1: the thread has used libhmm; 2: main has closed it */

static void set_stage(int s)
{
    pthread_mutex_lock(&lock);
    stage = s;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

static void wait_stage(int s)
{
    pthread_mutex_lock(&lock);
    while (stage < s)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
}

static void *user(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        void *p = alloc_fn(16 + (size_t)i * 40);
        if (!p)
            return NULL;
        free_fn(p);
    }
    void *keep = alloc_fn(100); /* a heap that is not empty at exit */
    (void)keep;
    set_stage(1);
    wait_stage(2);
    return NULL;
}

static int child(void *arg)
{
    const char *path = arg;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    alloc_fn = (void *(*)(size_t))dlsym(lib, "HmmAlloc");
    free_fn = (void (*)(void *))dlsym(lib, "HmmFree");
    if (!alloc_fn || !free_fn)
        return 3;
    pthread_t t;
    if (pthread_create(&t, NULL, user, NULL) != 0)
        return 4;
    wait_stage(1);
    if (dlclose(lib) != 0)
        return 5;
    set_stage(2);
    pthread_join(t, NULL); /* the thread's exit runs the key destructors */
    return 0;
}

int main(void)
{
    const char *dir = getenv("abs_top_builddir");
    if (!dir)
        skip_all("abs_top_builddir not set (run through make check)");
    char path[4096];
    snprintf(path, sizeof path, "%s/.libs/libhmm.so.1", dir);
    if (access(path, R_OK) != 0)
        skip_all("%s not built", path);
    plan(1);
    char err[4096];
    int status = tap_run_child(child, path, err, sizeof err);
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
            "a thread that used libhmm exits cleanly after dlclose"))
        diag("child: %s %d; stderr: %s", WIFSIGNALED(status) ? "signal" : "exit",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), err);
    return tap_done();
}
