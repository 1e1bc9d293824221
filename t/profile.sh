#!/bin/sh
# profile.sh - hmm-run --profile on t/hotcold, whose live bytes come 90%
# from hot() and 10% from cold() (and as many again are allocated and
# freed by churn()): the folded stacks attribute about those shares, the
# bytes allocated since the start include churn(), and SIGUSR2 writes the
# profile during the run.  About 3500 samples: the bounds are many
# standard deviations wide.

test_name=profile
. "${abs_top_srcdir:?run through make check}/t/preload.sh"
prog=$abs_top_builddir/t/hotcold
unset DEBUGINFOD_URLS

# Failed checks show the profiles too.
check_logs="out err prof prof.alloc"

# share FILE FUNC LO HI: the bytes of stacks ending in FUNC are between LO
# and HI (fractions) of FILE's total
share() {
    awk -v f="$2" -v lo="$3" -v hi="$4" '
        { total += $NF; if ($1 ~ (";" f "$")) part += $NF }
        END { s = total ? part / total : -1; print "# " f ": " s > "/dev/stderr"; exit !(s >= lo && s <= hi) }' "$1"
}

echo "1..9"

"$run" --profile="$tmp/prof" --profile-rate=16384 "$prog" "$tmp/prof" >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
check "exit status 0: the profile was written on SIGUSR2 during the run" [ "$st" = 0 ]
check "stdout unchanged, stderr empty" eval '[ "$(cat "$tmp/out")" = done ] && [ ! -s "$tmp/err" ]'
check "folded stacks: 'frame;...;frame bytes' lines" \
    eval '[ -s "$tmp/prof" ] && ! grep -qv "^[^ ]*;[^ ]* [0-9][0-9]*\$" "$tmp/prof"'
check "outermost frame first, allocating function last" grep -q ';main;hot [0-9]*$' "$tmp/prof"
check "in use: hot() holds 85-95% of the bytes" share "$tmp/prof" hot 0.85 0.95
check "in use: cold() holds 5-15%" share "$tmp/prof" cold 0.05 0.15
check "in use: churn() holds under 2%" share "$tmp/prof" churn 0 0.02
check "allocated since the start: churn() 40-55%" share "$tmp/prof.alloc" churn 0.40 0.55
check "in use: estimated total within 20% of the 30 MB held" \
    awk '{ t += $NF } END { exit !(t > 24000000 && t < 36000000) }' "$tmp/prof"

[ "$failed" = 0 ]
