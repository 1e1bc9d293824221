#!/bin/sh
# secure-programs.sh - real programs in secure mode (hmm-run --secure): python3 and
# perl give the same output and exit status as without libhmm, with
# nothing on stderr (so no canary or poison check fired).  A program that
# is not installed is skipped.

test_name=secure-programs
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"

# compare NAME PROGRAM ARG...: runs PROGRAM ARG... plainly and under
# "hmm-run --secure".
compare() {
    name=$1 prog=$2
    shift 2
    n=$((n + 1))
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "ok $n # skip $prog is not installed"
        return
    fi
    "$prog" "$@" >"$tmp/plain" 2>&1 </dev/null
    plain=$?
    timeout 300 "$run" --secure "$prog" "$@" >"$tmp/secure" 2>"$tmp/err" </dev/null
    secure=$?
    if [ $plain = 0 ] && [ $secure = 0 ] && [ -s "$tmp/plain" ] && cmp -s "$tmp/plain" "$tmp/secure" &&
        ! [ -s "$tmp/err" ]; then
        echo "ok $n - $name: same output in secure mode"
    else
        echo "not ok $n - $name: status $plain without, $secure in secure mode"
        diff "$tmp/plain" "$tmp/secure" | head -10 | sed 's/^/# /' >&2
        head -5 "$tmp/err" | sed 's/^/# stderr: /' >&2
    fi
}

echo "1..2"

compare python3 python3 -c '
import json, hashlib, random
random.seed(7)
d = {"k%d" % random.randrange(50000): [i] * (i % 9) for i in range(100000)}
s = json.dumps(sorted(d.items())[:3000])
b = bytearray()
for i in range(20000):
    b += bytes([i % 251]) * (i % 37)
print(len(d), hashlib.sha256(s.encode()).hexdigest(), len(b), sum(b) % 65521)
'

compare perl perl -e '
srand(42);
my %h;
for my $i (1 .. 100000) { push @{ $h{ int(rand(20000)) } }, $i x ($i % 5); }
my $s = "";
$s .= sprintf("%x", $_) for 1 .. 50000;
my @m = ($s =~ /(a[0-9]+b)/g);
print scalar(keys %h), " ", length($s), " ", scalar(@m), "\n";
'
exit 0
