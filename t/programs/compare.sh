#!/bin/sh
# compare.sh - hmm-run --compare on small programs: a row per installed
# allocator, the columns, glibc's ratios, the warnings where allocators
# disagree, --chart in PNG and SVG, and the usage errors.

test_name=compare
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"
. "$abs_top_srcdir/t/programs/tools.sh"

echo "1..21"

# The allocators the table must show: libhmm, glibc, and the peers
# installed at their Debian paths (the helper's own table).
installed=$("$py" -c "
import os, sys
sys.path.insert(0, '$abs_top_srcdir/tools')
from hmm_allocators import PEERS
print(' '.join(['libhmm', 'glibc'] + [n for n, lib, _ in PEERS if os.path.exists(lib)]))")
seq 1 3000 | awk '{ print ($1 * 7919) % 10007 }' >"$tmp/in.txt"

hr --compare -n 2 --chart "$tmp/sort.png" -- sort -n "$tmp/in.txt"
check "--compare -n 2 sort exits 0" [ "$st" = 0 ]
check "the header names the columns" \
    grep -Eq '^allocator +wall s +min-max +/glibc +user s +/glibc +sys s +/glibc +RSS MiB +min-max +/glibc$' "$tmp/out"
rows=$(sed -n '3,$p' "$tmp/out" | awk '{ print $1 }' | tr '\n' ' ')
check "a row per installed allocator ($installed)" [ "$rows" = "$installed " ]
check "each row has 11 columns, numbers and min-max ranges" \
    sh -c "sed -n '3,\$p' '$tmp/out' | awk 'NF != 11 || \$2 !~ /^[0-9.]+\$/ || \$3 !~ /^[0-9.]+-[0-9.]+\$/ { bad = 1 } END { exit bad }'"
check "glibc's ratios are 1.00" \
    sh -c "grep '^glibc ' '$tmp/out' | awk '{ exit !(\$4 == \"1.00\" && \$6 == \"1.00\" && \$11 == \"1.00\") }'"
check "the title line says 2 runs per allocator" grep -q '2 runs per allocator, interleaved' "$tmp/out"
check "no warning when every allocator agrees" sh -c "! grep -q warning '$tmp/err'"
if [ "$installed" != "libhmm glibc jemalloc tcmalloc mimalloc" ]; then
    check "allocators not installed are named, with their package" \
        grep -q 'skipping .*not installed (apt-get install ' "$tmp/err"
else
    check "nothing is skipped when every peer is installed" sh -c "! grep -q skipping '$tmp/err'"
fi
if [ -n "$plot" ]; then
    check "--chart FILE.png writes a PNG" \
        sh -c "head -c 8 '$tmp/sort.png' | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"
else
    skip "--chart FILE.png writes a PNG"
fi

# malloc_usable_size(malloc(1)) is 16 on libhmm and 24 on glibc.
hr --compare -n 2 --allocators glibc,libhmm --chart "$tmp/usable.svg" -- "$prog"
check "an output that depends on the allocator: still exit 0" [ "$st" = 0 ]
check "--allocators glibc,libhmm: those two rows, in the table's order" \
    [ "$(sed -n '3,$p' "$tmp/out" | awk '{ print $1 }' | tr '\n' ' ')" = "libhmm glibc " ]
check "... and a warning that libhmm's output differs from glibc's" \
    grep -q "warning: libhmm: standard output differs from glibc's in 2 of 2 runs" "$tmp/err"
if [ -n "$plot" ]; then
    check "--chart FILE.svg writes SVG that parses as XML" "$py" -c "
import sys, xml.etree.ElementTree as E
sys.exit(E.parse('$tmp/usable.svg').getroot().tag != '{http://www.w3.org/2000/svg}svg')"
else
    skip "--chart FILE.svg writes SVG that parses as XML"
fi

# LD_PRELOAD is set on every allocator but glibc.
hr --compare -n 1 --allocators libhmm,glibc -- sh -c 'test -n "$LD_PRELOAD"'
check "an exit status that differs is a warning naming both statuses" \
    grep -q "warning: libhmm: exit status 0, not glibc's 1, in 1 of 1 runs" "$tmp/err"

hr --compare -n 0 -- true
check "-n 0 is a usage error (2)" sh -c "[ $st = 2 ] && grep -q -- '-n must be at least 1' '$tmp/err'"
hr --compare --allocators glibc,dlmalloc -- true
check "an unknown allocator is a usage error naming it" \
    sh -c "[ $st = 2 ] && grep -q \"unknown allocator 'dlmalloc'\" '$tmp/err'"
hr --compare --chart "$tmp/c.gif" -- true
check "--chart with neither .png nor .svg is a usage error" \
    sh -c "[ $st = 2 ] && grep -q 'must end in .png or .svg' '$tmp/err'"
hr --compare -n 1
check "--compare without a command is a usage error" \
    sh -c "[ $st = 2 ] && grep -q 'no command given' '$tmp/err'"
hr --stats --compare -- true
check "--compare after another option is a usage error" \
    sh -c "[ $st = 2 ] && grep -q -- '--compare must be the first option' '$tmp/err'"
hr --compare -- hmm-no-such-command-here
check "--compare with a command not in PATH exits 127, saying why" \
    sh -c "[ $st = 127 ] && grep -q 'hmm-no-such-command-here.*not found' '$tmp/err'"

# The table itself, on figures where glibc's user time is 0 (a run too
# short for it to register): glibc's ratios stay 1.00, the others "-".
check "glibc's ratio is 1.00 even where its median is 0" sh -c "PYTHONPATH='$abs_top_srcdir/tools' '$py' -c '
import importlib.machinery, sys
m = importlib.machinery.SourceFileLoader(\"hmm_compare\", \"$abs_top_srcdir/tools/hmm-compare\").load_module()
t = m.table({\"glibc\": {\"wall\": (1, 1, 1), \"user\": (0, 0, 0), \"sys\": (1, 1, 1), \"rss\": (2, 2, 2)},
             \"libhmm\": {\"wall\": (2, 2, 2), \"user\": (1, 1, 1), \"sys\": (1, 1, 1), \"rss\": (2, 2, 2)}})
g = t[1].split(); h = t[2].split()
sys.exit(not (g[0] == \"glibc\" and g[3] == g[5] == g[7] == g[10] == \"1.00\" and h[5] == \"-\" and h[3] == \"2.00\"))
'"

[ "$failed" = 0 ]
