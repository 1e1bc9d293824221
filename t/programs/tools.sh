# tools.sh - sourced by the tests of hmm-run --compare and --heap-map
# (t/programs/compare.sh, t/programs/heap-map.sh) after preload.sh: skips
# the whole test without the python3 the helpers run on; sets $py (that
# python3), $prog (t/programs/heap-user), $plot (1 when matplotlib is
# there, else the tests that draw skip), and defines skip and hr (check
# comes from preload.sh).

py=/usr/bin/python3
prog=$abs_top_builddir/t/programs/heap-user
if [ ! -x "$py" ]; then
    echo "1..0 # SKIP $py is missing (the helpers of hmm-run are Python programs)"
    exit 0
fi
plot=
if "$py" -c 'import matplotlib' 2>/dev/null; then
    plot=1
fi

# skip DESCRIPTION: a TAP line for a test that needs matplotlib.
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP python3-matplotlib is not installed"
}

# hr ARG...: runs hmm-run; status in $st, output in $tmp/out and $tmp/err.
hr() {
    "$run" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
    st=$?
}
