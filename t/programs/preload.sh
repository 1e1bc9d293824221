# preload.sh - sourced by the shell tests that run programs under the build
# tree's ./hmm-run: sets $run, skips the whole test where the library cannot
# be preloaded (the sanitizer build), makes a scratch directory $tmp under
# the build tree (removed on exit), starts the TAP counter $n and the count
# of failures $failed, and defines check.
# The sourcing script sets $test_name first.

: "${abs_top_builddir:?run through make check}"
run=$abs_top_builddir/hmm-run

if [ "${HMM_TEST_INTERPOSE-1}" != 1 ]; then
    echo "1..0 # SKIP the library is not preloadable in this build (sanitizers)"
    exit 0
fi

tmp=$(mktemp -d "$abs_top_builddir/t/programs/tmp.$test_name.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# check DESCRIPTION TEST-COMMAND...: one TAP line; on failure the files
# named in $check_logs (default: out err) in $tmp go to the log.
check() {
    desc=$1
    shift
    n=$((n + 1))
    if "$@"; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        failed=$((failed + 1))
        for f in ${check_logs:-out err}; do
            [ -s "$tmp/$f" ] && sed "s/^/# $f: /" "$tmp/$f" >&2
        done
    fi
}
