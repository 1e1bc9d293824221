#!/bin/sh
# heap-map.sh - hmm-run --heap-map on a small program: the picture (PNG
# with sane dimensions, SVG that parses), the stream libhmm wrote (every
# record libhmm(7) documents, with plausible values), the command's exit
# status, the usage errors, and the message when matplotlib is missing.

test_name=heap-map
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"
. "$abs_top_srcdir/t/programs/tools.sh"

echo "1..13"

# A sample at every allocating slow path, so a short run has many.
HMM_HEAP_MAP_INTERVAL=0
export HMM_HEAP_MAP_INTERVAL

if [ -n "$plot" ]; then
    hr --heap-map "$tmp/heap.png" --data "$tmp/heap.data" -- "$prog" 20000
    check "--heap-map runs the command (exit 0, its output unchanged)" \
        sh -c "[ $st = 0 ] && [ \"\$(cat '$tmp/out')\" = 16 ]"
    check "the picture is a PNG of at least 600x400 pixels and at most 4000x4000" "$py" -c "
import struct, sys
d = open('$tmp/heap.png', 'rb').read(24)
w, h = struct.unpack('>II', d[16:24])
sys.exit(not (d[:8] == b'\x89PNG\r\n\x1a\n' and 600 <= w <= 4000 and 400 <= h <= 4000))"
    # The records of libhmm(7), HEAP MAP.
    check "the stream: an H record of format 1, this process, 4 KiB pages, 1024 a chunk" \
        grep -Eq '^H 1 [0-9]+ 4096 1024 0$' "$tmp/heap.data"
    check "T records: 6 numbers, time never going back, live <= mapped, resident > 0" \
        awk '$1 == "T" { n++; if (NF != 7 || $2 < t || $5 > $3 || $4 <= 0) bad = 1; t = $2 }
             END { exit bad || n < 10 }' "$tmp/heap.data"
    check "snapshots: S ... E, several as the heap grew and the last at exit" \
        awk '$1 == "S" { open = $2; why = $4; n++ } $1 == "E" { if ($2 != open) bad = 1; open = "" }
             END { exit bad || open != "" || n < 3 || why != "exit" }' "$tmp/heap.data"
    check "C and P records: each chunk's spans tile its 1024 pages from its 17-page header" \
        awk '$1 == "C" { if (next_page != "" && next_page != 1024) bad = 1; next_page = 0; first = 1 }
             $1 == "P" { if ($2 != next_page) bad = 1
                         if (first && ($4 != "header" || $2 != 0)) bad = 1
                         if ($4 !~ /^(header|slab|large|free|dirty|unknown)$/) bad = 1
                         if ($4 == "slab" && ($5 < 16 || $6 > $7 || $7 == 0)) bad = 1
                         next_page = $2 + $3; first = 0; spans[$4]++ }
             END { exit bad || next_page != 1024 || !spans["slab"] || !spans["large"] }' \
        "$tmp/heap.data"
    hr --heap-map "$tmp/heap.svg" --at exit -- sh -c "'$prog' 2000 >/dev/null; exit 3"
    check "the command's exit status is passed on (3)" [ "$st" = 3 ]
    check "--at exit draws an SVG that parses as XML" "$py" -c "
import sys, xml.etree.ElementTree as E
sys.exit(E.parse('$tmp/heap.svg').getroot().tag != '{http://www.w3.org/2000/svg}svg')"
    # A child of fork (no exec) writes a stream of its own, named by its
    # process id; the parent's is drawn.
    hr --heap-map "$tmp/fork.png" -- "$py" -c '
import os
pid = os.fork()
blocks = [bytes(100 + i % 2000) for i in range(20000)]
os._exit(0) if pid == 0 else os.waitpid(pid, 0)'
    check "after fork, parent and child write their own streams; the parent's is drawn" \
        sh -c "[ $st = 0 ] && grep -q '2 processes wrote heap maps; drawn: process' '$tmp/err'"
else
    for t in "runs the command" "PNG dimensions" "H record" "T records" "snapshots" \
        "C and P records" "exit status" "SVG" "fork"; do
        skip "--heap-map: $t"
    done
fi

hr --heap-map
check "--heap-map without a file is a usage error (2)" \
    sh -c "[ $st = 2 ] && grep -q 'no picture FILE given' '$tmp/err'"
hr --heap-map "$tmp/heap.jpg" -- true
check "--heap-map to neither .png nor .svg is a usage error" \
    sh -c "[ $st = 2 ] && grep -q 'must end in .png or .svg' '$tmp/err'"
hr --heap-map "$tmp/x.png" -- hmm-no-such-command-here
check "--heap-map with a command not in PATH exits 127" [ "$st" = 127 ]

# matplotlib hidden behind a package that fails to import.
mkdir -p "$tmp/nompl/matplotlib"
echo 'raise ImportError("hidden by the test")' >"$tmp/nompl/matplotlib/__init__.py"
PYTHONPATH=$tmp/nompl "$run" --heap-map "$tmp/x.png" -- true >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
check "without matplotlib: exit 1, naming python3-matplotlib" \
    sh -c "[ $st = 1 ] && grep -q 'apt-get install python3-matplotlib' '$tmp/err'"

[ "$failed" = 0 ]
