/*
 * report.h - checking libhmm's one-line reports: a case runs in a forked
 * child, which must die of SIGABRT (never SIGSEGV, never by carrying on)
 * after writing exactly "libhmm: FUNC(): WHAT 0xADDR" to stderr, ADDR being
 * the address the case put in bad_ptr.
 */
#ifndef HMM_TEST_REPORT_H
#define HMM_TEST_REPORT_H

/* The address a case expects in its report.  The child sets it (stack
 * addresses are only known there), so it lives in memory shared with the
 * parent. */
extern void *volatile *report_shared;
#define bad_ptr (*report_shared)

/* Runs fn in a child (no core file, 10 s at most) and reports one TAP
 * result; returns whether the child ended as described above. */
int expect_abort(const char *desc, void (*fn)(void), const char *func, const char *what);

#endif
