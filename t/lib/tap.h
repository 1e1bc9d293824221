/*
 * tap.h - a tiny TAP (Test Anything Protocol) library for libhmm's tests.
 *
 * A test calls plan() (or plan_lazy()), then ok()/is_int()/is_string() once
 * per check, and ends main() with "return tap_done();".  Results go to
 * stdout, flushed line by line so that a fork() never duplicates them;
 * diag() goes to stderr.  Only the thread that called plan() may report.
 *
 * Every test is stopped with "Bail out!" after HMM_TEST_TIMEOUT seconds
 * (default 300), so a deadlock fails instead of hanging the harness.
 */
#ifndef HMM_TAP_H
#define HMM_TAP_H

#include <stddef.h>
#include <stdint.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TAP_NORETURN __attribute__((noreturn))

/* Announces count tests. */
void plan(unsigned long count);
/* The number of tests is printed by tap_done(). */
void plan_lazy(void);
/* Skips the whole test program (prints "1..0 # SKIP reason" and exits 0). */
TAP_NORETURN void skip_all(const char *fmt, ...) TAP_PRINTF(1, 2);

/* One check each; they return success so a caller can add diagnostics. */
int ok(int success, const char *fmt, ...) TAP_PRINTF(2, 3);
int is_int(long long wanted, long long seen, const char *fmt, ...) TAP_PRINTF(3, 4);
int is_string(const char *wanted, const char *seen, const char *fmt, ...) TAP_PRINTF(3, 4);
/* count checks that were not run, with a reason. */
void skip(unsigned long count, const char *fmt, ...) TAP_PRINTF(2, 3);

/* A "# ..." comment on stderr. */
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/* Aborts the test program: "Bail out! ..." and exit status 255. */
TAP_NORETURN void bail(const char *fmt, ...) TAP_PRINTF(1, 2);
/* Like bail() with ": strerror(errno)" appended. */
TAP_NORETURN void sysbail(const char *fmt, ...) TAP_PRINTF(1, 2);

/* The seed of a randomized test: HMM_TEST_SEED if set, else fallback;
 * printed as a comment either way so that any run can be repeated. */
uint64_t test_seed(uint64_t fallback);

/* Prints the lazy plan, checks the count, and returns main's exit status:
 * 0 when every planned test ran and passed, 1 otherwise. */
int tap_done(void);

/* Runs child(arg) in a forked process whose standard error is captured in
 * err (at most size - 1 bytes, NUL-terminated); the child exits with
 * child's return value.  Returns the child's wait status. */
int tap_run_child(int (*child)(void *), void *arg, char *err, size_t size);

/* Makes sure the test runs with name=value in its environment, read by
 * libhmm before main: when it is not so, sets it and executes the test
 * again from the start. */
void tap_run_with_env(const char *name, const char *value, char **argv);

#endif
