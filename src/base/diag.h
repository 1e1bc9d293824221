/*
 * diag.h - diagnostics: a printf without allocation and the one-line
 * misuse reports that end in abort().
 */
#ifndef HMM_DIAG_H
#define HMM_DIAG_H

#include <stdarg.h>
#include "base/internal.h"

/* Formats %s %d %u %zu %llu %lu %x %p %% into buf; returns the length. */
size_t hmm_vformat(char *buf, size_t size, const char *fmt, va_list ap);
/* hmm_vformat with the arguments given. */
size_t hmm_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The file name tmpl with each "%p" replaced by the process id ("%%" by
 * "%"), so that every process of a pipeline writes its own file; returns
 * its length. */
size_t hmm_expand_path(const char *tmpl, char *buf, size_t size);
/* Writes formatted text to fd. */
void hmm_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A report being written: text gathered a buffer at a time and written
 * with write(2), never stdio (nothing here allocates).  Every report of
 * libhmm's goes through one: the statistics, the leak report, the heap
 * profile's files, the heap map's stream. */
typedef struct hmm_out {
    int fd;     /* -1: nowhere (the file could not be created) */
    bool owned; /* fd was opened by hmm_out_open: closed by hmm_out_close */
    int err;    /* the first write's error: the report is not whole */
    const char *what;
    size_t n;
    char buf[4096];
    char path[HMM_PATH_MAX + 32]; /* the file's name, for the warnings */
} hmm_out;
/* Starts a report to the file named by tmpl (see hmm_expand_path), or to
 * fd when tmpl is empty; false, with a warning naming what, the file and
 * why, when the file cannot be created.  A write that fails is warned of
 * the same way at hmm_out_close. */
bool hmm_out_open(hmm_out *o, const char *tmpl, int fd, const char *what);
/* Appends formatted text (hmm_vformat's conversions, 1 KiB at most). */
void hmm_out_printf(hmm_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends len bytes of buf, or string s, whole. */
void hmm_out_write(hmm_out *o, const char *buf, size_t len);
void hmm_out_puts(hmm_out *o, const char *s);
/* Appends the contents of the file at path (nothing when it cannot be
 * read). */
void hmm_out_copy(hmm_out *o, const char *path);
/* Writes what is gathered. */
void hmm_out_flush(hmm_out *o);
/* Flushes, and closes the file hmm_out_open created. */
void hmm_out_close(hmm_out *o);
/* "libhmm: warning: ..." on stderr (on a copy of it taken at start when a
 * report is on: GNU tools close stderr before libhmm's reports). */
void hmm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "libhmm: FUNC(): WHAT ADDR" on stderr, then abort(). */
__attribute__((noreturn, cold)) void hmm_misuse(const char *func, const char *what,
                                                const void *addr);
/* "libhmm: FUNC(): " and the formatted text on stderr, then abort(). */
__attribute__((noreturn, cold)) void hmm_misusef(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A free-list link or free mark that fails its check (a write into a freed
 * block): "libhmm: FUNC(): corrupted free list at ADDR", ADDR the block
 * holding it, then abort(). */
__attribute__((noreturn, cold)) void hmm_corrupt_list(const char *func, const void *at);
/* An internal inconsistency: "libhmm: heap corrupted: ..." then abort(). */
__attribute__((noreturn, cold)) void hmm_corrupt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
