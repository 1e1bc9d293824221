#!/bin/sh
# leaks.sh - hmm-run --leaks on t/programs/leaky (an ordinary program built
# with -g, without -rdynamic): the report's groups, their counts, bytes,
# functions and file:line, in order of bytes; in a threaded program, across
# fork, and with the program's output and exit status unchanged.

test_name=leaks
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"
prog=$abs_top_builddir/t/programs/leaky
src=$abs_top_srcdir/t/programs/leaky.c
# libdw must not ask a debuginfod server about system libraries.
unset DEBUGINFOD_URLS

# line MARK: the line of leaky.c marked MARK
line() { grep -n "/\* $1 \*/" "$src" | cut -d: -f1; }

# group FILE HEADER: the frames of the group whose first line is HEADER
group() {
    awk -v h="$2" '$0 == h { on = 1; next } on && /^$/ { exit } on' "$1"
}

# has_frame FILE HEADER N FUNC [LINE]: frame #N of that group is FUNC (at leaky.c:LINE)
has_frame() {
    if [ -n "${5-}" ]; then
        group "$1" "$2" | grep -q "^    #$3 0x[0-9a-f]* in $4 .*t/programs/leaky\.c:$5\$"
    else
        group "$1" "$2" | grep -q "^    #$3 0x[0-9a-f]* in $4\( \|\$\)"
    fi
}

echo "1..23"

"$prog" plain >"$tmp/plain.out" 2>&1
plain_st=$?
"$run" --leaks "$prog" plain >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
check "exit status unchanged (7)" eval '[ "$st" = 7 ] && [ "$plain_st" = 7 ]'
check "stdout unchanged" cmp -s "$tmp/out" "$tmp/plain.out"
check "the report is headed" grep -q '^libhmm: leaks: [0-9]* bytes in [0-9]* blocks still allocated at exit, from [0-9]* call stacks$' "$tmp/err"
h5='5000 bytes in 1 block allocated from:'
h3='3000 bytes in 3 blocks allocated from:'
h2='2000 bytes in 1 block allocated from:'
check "leak_b's group: 5000 bytes in 1 block" grep -qx "$h5" "$tmp/err"
check "... inner() at its malloc's line" has_frame "$tmp/err" "$h5" 0 inner "$(line LEAK_INNER)"
check "... leak_b() at its call of inner()" has_frame "$tmp/err" "$h5" 1 leak_b "$(line LEAK_B)"
check "... then main()" has_frame "$tmp/err" "$h5" 2 main
check "leak_a's group: 3000 bytes in 3 blocks" grep -qx "$h3" "$tmp/err"
check "... leak_a() at its malloc's line, then main()" \
    eval 'has_frame "$tmp/err" "$h3" 0 leak_a "$(line LEAK_A)" && has_frame "$tmp/err" "$h3" 1 main'
check "groups sorted by bytes" \
    [ "$(grep -nx "$h5" "$tmp/err" | cut -d: -f1)" -lt "$(grep -nx "$h3" "$tmp/err" | cut -d: -f1)" ]
check "a stack 13 calls deep: more than 8 frames named" \
    [ "$(group "$tmp/err" "$h2" | grep -c ' in nest .*leaky\.c:')" -ge 12 ]
check "nothing freed is reported (churn, realloc)" eval '! grep -q " in churn" "$tmp/err"'

"$run" --leaks "$prog" threads >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
h4='4000 bytes in 4 blocks allocated from:'
check "threads: exit status and stdout unchanged" eval '[ "$st" = 7 ] && [ "$(cat "$tmp/out")" = done ]'
check "threads: one group for the 4 threads' leaks" grep -qx "$h4" "$tmp/err"
check "... leak_a() called from thread_main()" \
    eval 'has_frame "$tmp/err" "$h4" 0 leak_a "$(line LEAK_A)" && has_frame "$tmp/err" "$h4" 1 thread_main'
check "... blocks freed by another thread are not reported" eval '! grep -q "^64 bytes" "$tmp/err"'

"$run" --leaks="$tmp/leaks.%p" "$prog" fork >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
check "fork: exit status and stdout unchanged, stderr empty" \
    eval '[ "$st" = 7 ] && [ "$(cat "$tmp/out")" = done ] && [ ! -s "$tmp/err" ]'
check "fork: one report per process" [ "$(ls "$tmp"/leaks.* | wc -l)" = 2 ]
child=$(grep -l 'in leak_child' "$tmp"/leaks.* 2>/dev/null)
parent=$(grep -L 'in leak_child' "$tmp"/leaks.* 2>/dev/null)
h6='600 bytes in 2 blocks allocated from:'
check "fork: the child's report has leak_child()'s 2 blocks" \
    eval '[ -n "$child" ] && has_frame "$child" "$h6" 0 leak_child "$(line LEAK_CHILD)"'
check "fork: both have the 3 blocks leak_a() leaked before the fork" \
    eval '[ -n "$parent" ] && grep -qx "$h3" "$parent" && grep -qx "$h3" "$child"'

HMM_LEAKS=1 LD_PRELOAD=$abs_top_builddir/.libs/libhmm.so.1 "$prog" plain >"$tmp/out" 2>"$tmp/err" </dev/null
check "HMM_LEAKS=1 without hmm-run: the same report" grep -qx "$h5" "$tmp/err"


# A stripped copy names no function: its frames read MODULE+0xOFFSET, which
# addr2line turns back into leaky.c's lines with the unstripped program.
cp "$prog" "$tmp/stripped" && strip -s "$tmp/stripped"
"$run" --leaks "$tmp/stripped" plain >/dev/null 2>"$tmp/err" </dev/null
off=$(group "$tmp/err" "$h5" | sed -n "s|^    #0 0x[0-9a-f]* in $tmp/stripped+\(0x[0-9a-f]*\)\$|\1|p")
check "stripped: frame #0 is the program's absolute name + offset" [ -n "$off" ]
check "stripped: addr2line reads the offset as inner()'s malloc line" \
    eval '[ -n "$off" ] && addr2line -e "$prog" "$(printf "0x%x" $((off - 1)))" | grep -q "leaky\.c:$(line LEAK_INNER)\$"'

[ "$failed" = 0 ]
