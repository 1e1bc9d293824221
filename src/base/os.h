/*
 * os.h - the only interface to the kernel: mappings, purging, time, output,
 * randomness.  Nothing here allocates.
 */
#ifndef HMM_OS_H
#define HMM_OS_H

#include "base/internal.h"

struct timespec;

#ifdef HMM_FAULT_INJECTION
/* The static core the tests link only (never libhmm.so.1): the mapping
 * call (mmap, mremap, madvise) whose count in hmm_os_fault_calls reaches
 * hmm_os_fail_at fails; 0 never. */
extern unsigned long hmm_os_fail_at, hmm_os_fault_calls;
#endif

/* Maps size bytes aligned to align (a power of two >= page); NULL on failure. */
void *hmm_os_map_aligned(size_t size, size_t align);
void hmm_os_unmap(void *addr, size_t size);
/* Asks for transparent huge pages in the range (THP "madvise" mode); a
 * hint, not counted as a mapping call by the fault injection. */
void hmm_os_hugepage(void *addr, size_t size);
/* Gives pages back; they read as zero when touched again.  False when the
 * kernel refused: the pages then keep their contents. */
bool hmm_os_purge(void *addr, size_t size);
/* Resizes a mapping in place; false when it cannot. */
bool hmm_os_remap_inplace(void *addr, size_t old_size, size_t new_size);
/* Moves a mapping to new_addr (an address inside a reservation of ours). */
bool hmm_os_remap_to(void *addr, size_t old_size, size_t new_size, void *new_addr);
/* Milliseconds from a monotonic clock that costs no system call. */
uint64_t hmm_os_now_ms(void);
/* The CLOCK_MONOTONIC time ms milliseconds from now, for a timed wait. */
void hmm_os_deadline(struct timespec *ts, uint32_t ms);
/* Lets another thread run (a lock's holder). */
void hmm_os_yield(void);
/* Writes all of buf to fd: 0, or the error that stopped it (ENOSPC on a
 * full disk; diagnostics ignore it). */
int hmm_os_write(int fd, const char *buf, size_t len);
/* The kernel's description of error err ("No space left on device"), in
 * English and without allocating (strerror may translate, and allocate). */
const char *hmm_os_error_text(int err);
uint64_t hmm_os_random(void);
/* A close-on-exec duplicate of fd numbered 64 or more, or fd itself when
 * that fails: a report written at exit then survives a program closing fd. */
int hmm_os_keep_fd(int fd);
/* Creates or truncates the file at path for writing (mode 0644, subject to
 * the umask); the descriptor, or minus the error (-ENOENT, -EACCES). */
int hmm_os_create(const char *path);
/* Opens the file at path for reading; the descriptor, or -1. */
int hmm_os_open_read(const char *path);
/* Reads up to len bytes of fd into buf (retrying on EINTR); how many, 0
 * at the end or on error. */
size_t hmm_os_read(int fd, char *buf, size_t len);
void hmm_os_close(int fd);
/* Maps the file at path whole, a private copy (writes, which libelf may
 * make to convert it in place, never reach the file), and stores its
 * size; NULL when it cannot be opened or is empty.  hmm_os_unmap unmaps
 * it. */
void *hmm_os_map_file(const char *path, size_t *size);
/* The absolute file name of the running program (readlink of
 * /proc/self/exe) in buf; false, buf empty, when it cannot be had. */
bool hmm_os_exe_path(char *buf, size_t size);
/* Runs handler when signal sig arrives (system calls it interrupts are
 * restarted); false when it cannot. */
bool hmm_os_catch_signal(int sig, void (*handler)(int));
uint64_t hmm_os_getpid(void);
size_t hmm_os_page_size(void);
/* The process's resident set size now and at its peak, in bytes. */
void hmm_os_resident(uint64_t *now, uint64_t *peak);

#endif
