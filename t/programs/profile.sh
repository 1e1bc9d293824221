#!/bin/sh
# profile.sh - hmm-run --profile on t/programs/hotcold, whose live bytes
# come 90% from hot() and 10% from cold() (and as many again are allocated
# and freed by churn()): the folded stacks attribute about those shares, the
# bytes allocated since the start include churn(), and SIGUSR2 writes the
# profile during the run.  FILE.heap, for pprof, is read by a strict parser
# of its grammar here, and by google-pprof where it is installed (package
# google-perftools), which must find the same shares.  About 3500
# samples: the bounds are many standard deviations wide.

test_name=profile
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"
prog=$abs_top_builddir/t/programs/hotcold
unset DEBUGINFOD_URLS

# Failed checks show the profiles too.
check_logs="out err prof prof.alloc prof.heap pprof pprof.err"

# share FILE FUNC LO HI: the bytes of stacks ending in FUNC are between LO
# and HI (fractions) of FILE's total
share() {
    awk -v f="$2" -v lo="$3" -v hi="$4" '
        { total += $NF; if ($1 ~ (";" f "$")) part += $NF }
        END { s = total ? part / total : -1; print "# " f ": " s > "/dev/stderr"; exit !(s >= lo && s <= hi) }' "$1"
}

# heap_grammar FILE: FILE is a heap profile as pprof's readers parse it
# (gperftools' perl script and Go's legacy_profile.go, the stricter of
# the two at each point): the header with the sampling rate given, stack
# lines of in-use and allocated samples with at least one address,
# MAPPED_LIBRARIES: and /proc/self/maps lines.  The header sums the
# stacks, no stack has more samples in use than allocated, and one
# executable mapping is the program's (pprof symbolizes with it).
heap_grammar() {
    awk -v rate=16384 -v prog="$prog" '
        function fail(why) { print "# line " NR ": " why > "/dev/stderr"; bad = 1; exit 1 }
        NR == 1 {
            if ($0 !~ /^heap profile: [0-9]+: [0-9]+ \[[0-9]+: [0-9]+\] @ heap_v2\/[0-9]+$/) fail("header")
            split($0, h, /[^0-9]+/)
            if (h[7] != rate) fail("rate " h[7])
            next
        }
        maps {
            if ($0 !~ /^[0-9a-f]+-[0-9a-f]+ [-r][-w][-x][ps] [0-9a-f]+ [0-9a-f]+:[0-9a-f]+ [0-9]+( .*)?$/) fail("map")
            if ($2 ~ /x/ && $6 == prog) progmap = 1
            next
        }
        $0 == "MAPPED_LIBRARIES:" { maps = 1; next }
        {
            if ($0 !~ /^[0-9]+: [0-9]+ \[[0-9]+: [0-9]+\] @( 0x[0-9a-f]+)+$/) fail("stack")
            split($0, v, /[^0-9]+/)
            if (v[1] + 0 > v[3] + 0 || v[2] + 0 > v[4] + 0) fail("more in use than allocated")
            for (i = 1; i <= 4; i++) sum[i] += v[i]
            stacks++
        }
        END {
            if (bad) exit 1
            if (!maps || !stacks || !progmap) { print "# maps " maps ", stacks " stacks ", program mapped " progmap > "/dev/stderr"; exit 1 }
            for (i = 1; i <= 4; i++) if (sum[i] != h[i + 1]) { print "# header " h[i + 1] " != " sum[i] > "/dev/stderr"; exit 1 }
        }' "$1"
}

# heap_inuse FILE LO HI: the bytes in use that FILE's samples stand for,
# each stack scaled as heap_v2 readers scale it (by 1 / (1 - exp(-avg /
# rate)), avg its mean sample size), are between LO and HI: the file holds
# the samples as taken, not estimates (which the reader would scale again).
heap_inuse() {
    awk -v lo="$2" -v hi="$3" '
        NR == 1 { split($0, h, /[^0-9]+/); rate = h[7]; next }
        $0 == "MAPPED_LIBRARIES:" { exit }
        { split($0, v, /[^0-9]+/); if (v[1] > 0) t += v[2] / (1 - exp(-(v[2] / v[1]) / rate)) }
        END { print "# estimated in use: " t > "/dev/stderr"; exit !(t > lo && t < hi) }' "$1"
}

# pprof_share MODE FUNC LO HI: in google-pprof --text --MODE, the flat
# share of FUNC is between LO and HI percent.
pprof_share() {
    google-pprof --text "--$1" "$prog" "$tmp/prof.heap" >"$tmp/pprof" 2>"$tmp/pprof.err" &&
        awk -v f="$2" -v lo="$3" -v hi="$4" '
            $6 == f { s = $2 + 0 }
            END { print "# " f ": " s "%" > "/dev/stderr"; exit !(s >= lo && s <= hi) }' "$tmp/pprof"
}

# check_pprof DESCRIPTION ARGS...: check with pprof_share, or a TAP skip
# without google-pprof.
check_pprof() {
    if command -v google-pprof >/dev/null; then
        desc=$1
        shift
        check "$desc" pprof_share "$@"
    else
        n=$((n + 1))
        echo "ok $n # SKIP google-pprof is not installed (package google-perftools)"
    fi
}

echo "1..15"

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
check "FILE.heap: pprof's heap-profile grammar, sums, and the program's mapping" \
    heap_grammar "$tmp/prof.heap"
check "FILE.heap: raw samples, scaled as pprof does: within 20% of the 30 MB held" \
    heap_inuse "$tmp/prof.heap" 24000000 36000000
check_pprof "google-pprof --inuse_space: hot() 85-95%" inuse_space hot 85 95
check_pprof "google-pprof --inuse_space: cold() 5-15%" inuse_space cold 5 15
check_pprof "google-pprof --alloc_space: churn() 40-55%" alloc_space churn 40 55
check_pprof "google-pprof --alloc_space: hot() 40-55%" alloc_space hot 40 55

[ "$failed" = 0 ]
