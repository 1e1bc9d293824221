#!/bin/sh
# hmm-run.sh - the hmm-run wrapper of the build tree: options, usage errors,
# exit statuses, LD_PRELOAD handling, --stats and --stats=FILE, --secure,
# argument passing.

test_name=hmm-run
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"
lib=$abs_top_builddir/.libs/libhmm.so.1

# runs hmm-run with the given arguments; status in $st, output in $tmp/out, $tmp/err
hr() {
    "$run" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    st=$?
}

echo "1..48"

hr --help
check "--help exits 0" [ "$st" = 0 ]
check "--help prints the usage on stdout" \
    grep -q '^Usage: hmm-run \[--stats\[=FILE\]\] \[--secure\] \[--leaks\[=FILE\]\] \[--profile=FILE\] \[--\] COMMAND' "$tmp/out"
check "--help describes --secure" grep -q -- '--secure .*secure mode' "$tmp/out"

hr -h
check "-h exits 0" [ "$st" = 0 ]
check "-h prints the usage on stdout, as --help does" grep -q '^Usage: hmm-run ' "$tmp/out"

hr --profile-rate=4096 true
check "--profile-rate without --profile exits 2" [ "$st" = 2 ]
check "... saying that it needs --profile, with the usage, on stderr" \
    sh -c "grep -q -- '--profile-rate.*--profile=FILE' '$tmp/err' && grep -q '^Usage:' '$tmp/err'"

hr --profile="$tmp/prof" --profile-rate=1 true
check "--profile-rate=1 runs the command (exit 0)" [ "$st" = 0 ]
check "... warning on stderr, in one line, that sampling every byte is slow" \
    sh -c "[ \$(grep -c 'profile-rate=1' '$tmp/err') = 1 ] && grep -q 'slow' '$tmp/err'"

hr --version
check "--version exits 0" [ "$st" = 0 ]
check "--version prints 'hmm-run (libhmm) $PACKAGE_VERSION'" \
    [ "$(cat "$tmp/out")" = "hmm-run (libhmm) $PACKAGE_VERSION" ]

hr --bogus true
check "an unknown option exits 2" [ "$st" = 2 ]
check "... naming the option, with the usage, on stderr" \
    sh -c "grep -q -- '--bogus' '$tmp/err' && grep -q '^Usage:' '$tmp/err' && ! test -s '$tmp/out'"

hr
check "no command exits 2" [ "$st" = 2 ]
check "... with a message and the usage on stderr" \
    sh -c "grep -q 'no command' '$tmp/err' && grep -q '^Usage:' '$tmp/err'"
hr --stats --
check "'--stats --' and no command exits 2" [ "$st" = 2 ]

hr hmm-no-such-command-here
check "a command not in PATH exits 127" [ "$st" = 127 ]
check "... saying why" grep -q 'hmm-no-such-command-here.*not found' "$tmp/err"
hr ./no/such/program
check "a missing program path exits 127" [ "$st" = 127 ]
: >"$tmp/notexec"
chmod 644 "$tmp/notexec"
hr "$tmp/notexec"
check "a file that is not executable exits 127, saying why" \
    sh -c "[ $st = 127 ] && grep -q 'not executable' '$tmp/err'"
hr "$tmp"
check "a directory exits 127" [ "$st" = 127 ]
hr -- -x
check "a command after -- is not an option (127, not 2)" [ "$st" = 127 ]

hr true
check "the exit status of a successful command is 0" [ "$st" = 0 ]
hr sh -c 'exit 42'
check "the command's exit status is passed through (42)" [ "$st" = 42 ]
hr false
check "... and 1 from false" [ "$st" = 1 ]
hr sh -c 'kill -TERM $$'
check "a command killed by SIGTERM gives 128+15" [ "$st" = 143 ]

env -u LD_PRELOAD "$run" printenv LD_PRELOAD >"$tmp/out" 2>"$tmp/err"
check "LD_PRELOAD is the build tree's library" [ "$(cat "$tmp/out")" = "$lib" ]
LD_PRELOAD=libm.so.6 "$run" printenv LD_PRELOAD >"$tmp/out" 2>"$tmp/err"
check "an existing LD_PRELOAD is appended to" [ "$(cat "$tmp/out")" = "libm.so.6:$lib" ]

hr cat /proc/self/maps
check "the command runs with libhmm.so.1 mapped" grep -q -F "$lib" "$tmp/out"

hr printf '[%s]\n' 'a b' '' 'c*' '-x' '$HOME'
printf '[%s]\n' 'a b' '' 'c*' '-x' '$HOME' >"$tmp/want"
check "arguments are passed unchanged" cmp -s "$tmp/want" "$tmp/out"

echo "through stdin" | "$run" cat >"$tmp/out" 2>"$tmp/err"
check "stdin reaches the command" [ "$(cat "$tmp/out")" = "through stdin" ]

hr --stats printenv HMM_STATS
check "--stats sets HMM_STATS=1" [ "$(cat "$tmp/out")" = 1 ]
hr --secure printenv HMM_SECURE
check "--secure sets HMM_SECURE=1" [ "$(cat "$tmp/out")" = 1 ]
hr --secure --stats perl -e 'print "hello\n"'
check "--secure runs perl, with --stats too" \
    sh -c "[ $st = 0 ] && [ \"\$(cat '$tmp/out')\" = hello ] && grep -q 'libhmm' '$tmp/err'"
hr --stats perl -e 'print "hello\n"'
check "--stats prints libhmm's statistics on stderr at exit" \
    sh -c "[ $st = 0 ] && [ \"\$(cat '$tmp/out')\" = hello ] && grep -q 'libhmm' '$tmp/err'"
# GNU tools close stdout and stderr in an atexit handler, before libhmm's
# destructor runs: the statistics must get out all the same.
hr --stats sort /dev/null
check "--stats prints statistics for a program that closes stderr at exit (sort)" \
    grep -q 'libhmm' "$tmp/err"
# --stats=FILE: one file per process of a pipeline, nothing on stderr (a
# program that checks its children's stderr must not see the report).
hr --stats="$tmp/st.%p" sh -c '/bin/echo hello | cat | sort'
check "--stats=FILE: the command's output is unchanged" \
    sh -c "[ $st = 0 ] && [ \"\$(cat '$tmp/out')\" = hello ]"
check "... and nothing goes to stderr" sh -c "! test -s '$tmp/err'"
# (dash itself leaves with _exit, which runs no destructor.)
check "... each program of the pipeline (echo, cat, sort) wrote its own file" \
    sh -c "[ \$(grep -l '^libhmm statistics:' '$tmp'/st.* | wc -l) = 3 ]"
(cd "$tmp" && "$run" --stats=rel.%p printenv HMM_STATS_FILE >"$tmp/out" 2>"$tmp/err")
check "--stats=FILE with a relative name sets HMM_STATS_FILE to an absolute one" \
    sh -c "grep -qx '$tmp/rel.%p' '$tmp/out' && ls '$tmp'/rel.* >/dev/null"
hr --stats= true
check "--stats= with no file name exits 2" [ "$st" = 2 ]

hr perl -e 'print "hello\n"'
check "without --stats, stderr stays empty" sh -c "[ $st = 0 ] && ! test -s '$tmp/err'"

# A bad HMM_* value is reported once and ignored; the program still runs.
HMM_PURGE_DELAY=soon "$run" perl -e 'print "hello\n"' >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
check "a bad HMM_PURGE_DELAY is ignored (the command runs and exits 0)" \
    sh -c "[ $st = 0 ] && [ \"\$(cat '$tmp/out')\" = hello ]"
check "... with one warning naming it" sh -c \
    "[ \$(wc -l <'$tmp/err') = 1 ] && grep -q '^libhmm: warning: ignoring HMM_PURGE_DELAY=soon' '$tmp/err'"

# A report that cannot be written in full is warned of, with the reason,
# on stderr (a copy of it: true, a GNU tool, closes stderr at exit).
hr --leaks=/dev/full true
check "--leaks=/dev/full: the command's status is kept (0), and one warning says why" \
    sh -c "[ $st = 0 ] && [ \$(wc -l <'$tmp/err') = 1 ] && grep -qx 'libhmm: warning: cannot write the leak report to /dev/full: No space left on device (it is incomplete)' '$tmp/err'"
hr --stats=/dev/full true
check "--stats=/dev/full: one warning says why" \
    grep -qx 'libhmm: warning: cannot write the statistics to /dev/full: No space left on device (it is incomplete)' "$tmp/err"
hr --profile="$tmp/no-such-dir/p" "$abs_top_builddir/t/programs/leaky" plain
check "--profile= into a missing directory: the warning gives the reason" \
    grep -q "^libhmm: warning: cannot write the heap profile to $tmp/no-such-dir/p[.a-z]*: No such file or directory\$" "$tmp/err"
hr --leaks="$tmp/no-such-dir/l" true
check "--leaks= into a missing directory: the warning gives the reason" \
    grep -qx "libhmm: warning: cannot write the leak report to $tmp/no-such-dir/l: No such file or directory" "$tmp/err"

exit 0
