/*
 * os.c - every system call libhmm makes: mmap, munmap, mremap, madvise,
 * clock_gettime, sched_yield, open, write, close, getpid, getauxval,
 * sigaction.  Errno is left as the caller had it.
 */
#define _GNU_SOURCE
#include "base/os.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/auxv.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Fault injection, compiled into the static core the tests link only
 * (HMM_FAULT_INJECTION; t/unit/faults.c sets these, nothing reads them from the
 * environment): every mapping call (mmap, mremap, madvise) is counted, and
 * the one whose count reaches hmm_os_fail_at fails as the kernel would.
 * libhmm.so.1 has neither the counters nor the atomic add. */
#ifdef HMM_FAULT_INJECTION
unsigned long hmm_os_fail_at, hmm_os_fault_calls;

static bool injected_fault(void)
{
    return __atomic_add_fetch(&hmm_os_fault_calls, 1, __ATOMIC_RELAXED) == hmm_os_fail_at;
}
#else
static bool injected_fault(void) { return false; }
#endif

static void *map_anon(void *hint, size_t size, int flags)
{
    if (injected_fault())
        return NULL;
    void *p = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Where the last aligned mapping ended: the kernel usually grants the
 * next one there, aligned, in one call.  Racy by design: it is a hint. */
static uintptr_t align_hint;

void *hmm_os_map_aligned(size_t size, size_t align)
{
    int saved = errno;
    uintptr_t hint = __atomic_load_n(&align_hint, __ATOMIC_RELAXED);
    char *p = hint ? map_anon((void *)hint, size, 0) : NULL;
    if (p && ((uintptr_t)p & (align - 1)) != 0) {
        munmap(p, size);
        p = NULL;
    }
    if (!p && size + align > size) {
        /* Over-map and trim: the kernel gives only page alignment. */
        char *raw = map_anon(NULL, size + align, 0);
        if (raw) {
            p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
            if (p > raw)
                munmap(raw, (size_t)(p - raw));
            size_t tail = (size_t)(raw + size + align - (p + size));
            if (tail)
                munmap(p + size, tail);
        }
    }
    if (p)
        __atomic_store_n(&align_hint, (uintptr_t)p + hmm_align_up(size, align), __ATOMIC_RELAXED);
    errno = saved;
    return p;
}

void hmm_os_hugepage(void *addr, size_t size)
{
    int saved = errno;
    madvise(addr, size, MADV_HUGEPAGE);
    errno = saved;
}

void hmm_os_unmap(void *addr, size_t size)
{
    int saved = errno;
    munmap(addr, size);
    errno = saved;
}

bool hmm_os_purge(void *addr, size_t size)
{
    int saved = errno;
    bool ok = !injected_fault() && madvise(addr, size, MADV_DONTNEED) == 0;
    errno = saved;
    return ok;
}

bool hmm_os_remap_inplace(void *addr, size_t old_size, size_t new_size)
{
    int saved = errno;
    bool ok = !injected_fault() && mremap(addr, old_size, new_size, 0) != MAP_FAILED;
    errno = saved;
    return ok;
}

bool hmm_os_remap_to(void *addr, size_t old_size, size_t new_size, void *new_addr)
{
    int saved = errno;
    bool ok = !injected_fault() && mremap(addr, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED,
                                          new_addr) != MAP_FAILED;
    errno = saved;
    return ok;
}

uint64_t hmm_os_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void hmm_os_deadline(struct timespec *ts, uint32_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

void hmm_os_yield(void)
{
    int saved = errno;
    sched_yield();
    errno = saved;
}

int hmm_os_write(int fd, const char *buf, size_t len)
{
    int saved = errno, err = 0;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        buf += n;
        len -= (size_t)n;
    }
    errno = saved;
    return err;
}

const char *hmm_os_error_text(int err)
{
    const char *s = strerrordesc_np(err);
    return s ? s : "unknown error";
}

uint64_t hmm_os_random(void)
{
    /* The kernel's 16 random bytes for this process: no system call, no
     * file, usable before anything else is set up. */
    uint64_t r = 0x9e3779b97f4a7c15u;
    const unsigned char *at = (const unsigned char *)getauxval(AT_RANDOM);
    if (at) {
        uint64_t a, b;
        memcpy(&a, at, 8);
        memcpy(&b, at + 8, 8);
        r ^= a * 0xbf58476d1ce4e5b9u ^ b;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r ^= (uint64_t)ts.tv_nsec * 0x94d049bb133111ebu;
    return r | 1;
}

int hmm_os_keep_fd(int fd)
{
    int saved = errno;
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 64);
    errno = saved;
    return copy >= 0 ? copy : fd;
}

int hmm_os_create(const char *path)
{
    int saved = errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fd = -errno;
    errno = saved;
    return fd;
}

int hmm_os_open_read(const char *path)
{
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    errno = saved;
    return fd;
}

size_t hmm_os_read(int fd, char *buf, size_t len)
{
    int saved = errno;
    ssize_t n;
    do
        n = read(fd, buf, len);
    while (n < 0 && errno == EINTR);
    errno = saved;
    return n > 0 ? (size_t)n : 0;
}

void *hmm_os_map_file(const char *path, size_t *size)
{
    int saved = errno;
    void *p = NULL;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 &&
        (p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)) !=
            MAP_FAILED)
        *size = (size_t)st.st_size;
    else
        p = NULL;
    if (fd >= 0)
        close(fd);
    errno = saved;
    return p;
}

void hmm_os_close(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

bool hmm_os_exe_path(char *buf, size_t size)
{
    int saved = errno;
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    errno = saved;
    bool ok = n > 0 && (size_t)n < size - 1;
    buf[ok ? n : 0] = '\0';
    return ok;
}

bool hmm_os_catch_signal(int sig, void (*handler)(int))
{
    int saved = errno;
    struct sigaction sa = {.sa_handler = handler, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    bool ok = sigaction(sig, &sa, NULL) == 0;
    errno = saved;
    return ok;
}

uint64_t hmm_os_getpid(void) { return (uint64_t)getpid(); }

size_t hmm_os_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

void hmm_os_resident(uint64_t *now, uint64_t *peak)
{
    int saved = errno;
    char buf[128];
    *now = 0;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        /* The second field is the resident set in pages. */
        const char *p = buf, *end = buf + (n > 0 ? n : 0);
        while (p < end && *p != ' ')
            p++;
        uint64_t pages = 0;
        for (p++; p < end && *p >= '0' && *p <= '9'; p++)
            pages = pages * 10 + (uint64_t)(*p - '0');
        *now = pages * hmm_os_page_size();
    }
    struct rusage ru;
    *peak = getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
    errno = saved;
}
