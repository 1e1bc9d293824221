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
/* Writes a report of len bytes at buf to the file named by tmpl (see
 * hmm_expand_path), or to fd when tmpl is empty; what names it in a
 * warning when the file cannot be created. */
void hmm_write_report(const char *tmpl, int fd, const char *what, const char *buf, size_t len);
/* Writes formatted text to fd. */
void hmm_printf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "libhmm: warning: ..." on stderr. */
void hmm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "libhmm: FUNC(): WHAT ADDR" on stderr, then abort(). */
__attribute__((noreturn, cold)) void hmm_misuse(const char *func, const char *what,
                                                const void *addr);
/* A free-list link or free mark that fails its check (a write into a freed
 * block): "libhmm: FUNC(): corrupted free list at ADDR", ADDR the block
 * holding it, then abort(). */
__attribute__((noreturn, cold)) void hmm_corrupt_list(const char *func, const void *at);
/* An internal inconsistency: "libhmm: heap corrupted: ..." then abort(). */
__attribute__((noreturn, cold)) void hmm_corrupt(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
