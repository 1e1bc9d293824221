#!/bin/sh
# programs.sh - real programs under the build tree's ./hmm-run: their output
# and exit status must equal a run without it.  Each program that is not
# installed is skipped.  The shell that runs each script records whether
# libhmm.so.1 is mapped into it, proving the preload took effect (every
# program the script starts inherits the same LD_PRELOAD).

test_name=programs
. "${abs_top_srcdir:?run through make check}/t/programs/preload.sh"

# compare NAME PROGRAM SCRIPT: runs "sh SCRIPT" in a fresh directory twice,
# plainly and under hmm-run; stdout and exit status must match.
compare() {
    name=$1 prog=$2 script=$3
    n=$((n + 1))
    if ! command -v "$prog" >/dev/null 2>&1; then
        echo "ok $n # skip $prog is not installed"
        return
    fi
    for mode in plain hmm; do
        rm -rf "$tmp/$mode"
        mkdir "$tmp/$mode"
        if [ $mode = plain ]; then
            wrap=
        else
            wrap=$run
        fi
        (cd "$tmp/$mode" && HOME=$tmp/$mode timeout 300 $wrap sh -c \
            'grep -F libhmm.so.1 /proc/$$/maps >../$0.maps; sh "$1"' "$mode" "$script" \
            >stdout 2>stderr </dev/null)
        echo $? >"$tmp/$mode/status"
    done
    why=
    if ! cmp -s "$tmp/plain/status" "$tmp/hmm/status"; then
        why="exit status $(cat "$tmp/plain/status") without, $(cat "$tmp/hmm/status") with hmm-run"
    elif [ "$(cat "$tmp/plain/status")" != 0 ]; then
        why="the script failed even without hmm-run (status $(cat "$tmp/plain/status"))"
    elif ! [ -s "$tmp/plain/stdout" ]; then
        why="no output to compare"
    elif ! cmp -s "$tmp/plain/stdout" "$tmp/hmm/stdout"; then
        why="stdout differs"
        diff "$tmp/plain/stdout" "$tmp/hmm/stdout" | head -20 | sed 's/^/# /' >&2
    elif [ -s "$tmp/plain.maps" ] || ! [ -s "$tmp/hmm.maps" ]; then
        why="libhmm.so.1 was not mapped under hmm-run (or was without it)"
    fi
    if [ -z "$why" ]; then
        echo "ok $n - $name: same output with hmm-run ($(wc -l <"$tmp/hmm/stdout") lines)"
    else
        echo "not ok $n - $name: $why"
        for mode in plain hmm; do
            tail -5 "$tmp/$mode/stderr" | sed "s/^/# $mode stderr: /" >&2
        done
    fi
}

echo "1..8"

cat >"$tmp/python.sh" <<'PYEOF'
python3 - <<'PY'
import json, hashlib, random, re
random.seed(12345)
d = {}
for i in range(200000):
    d["k%d" % random.randrange(100000)] = [i] * (i % 7)
items = sorted(d.items(), key=lambda kv: (len(kv[1]), kv[0]))
s = json.dumps(items[:2000])
print(len(d), len(s), hashlib.sha256(s.encode()).hexdigest())
words = re.findall(r"\w+", " ".join(str(random.random()) for _ in range(50000)))
print(len(words), sorted(set(w[:3] for w in words))[:10])
big = 1
for i in range(1, 1000):
    big *= i
print(len(str(big)), sum(int(c) for c in str(big)))
PY
PYEOF
compare python3 python3 "$tmp/python.sh"

cat >"$tmp/perl.sh" <<'PLEOF'
perl -e '
srand(42);
my %h;
for my $i (1 .. 200000) { push @{ $h{ int(rand(50000)) } }, $i x ($i % 5); }
my @k = sort { scalar(@{ $h{$a} }) <=> scalar(@{ $h{$b} }) || $a <=> $b } keys %h;
print scalar(@k), " ", join(",", @k[0 .. 9]), "\n";
my $s = join("", map { sprintf("%x", $_) } 1 .. 100000);
my @m = ($s =~ /(a[0-9]+b)/g);
print length($s), " ", scalar(@m), "\n";
'
PLEOF
compare perl perl "$tmp/perl.sh"

cat >"$tmp/sort.sh" <<'SORTEOF'
awk 'BEGIN { x = 1; for (i = 0; i < 300000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%d line %d %x\n", x % 100000, i, x } }' >input
sort input | cksum
sort -n -k1,1 -k3,3 -S 8M --parallel=2 input | cksum
sort -u -t' ' -k1,1 input | wc -l
SORTEOF
compare sort sort "$tmp/sort.sh"

cat >"$tmp/gcc.sh" <<'GCCEOF'
cat >prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *left, *right; long key; };
static struct node *insert(struct node *t, long k)
{
    if (!t) { t = calloc(1, sizeof *t); t->key = k; return t; }
    if (k < t->key) t->left = insert(t->left, k); else t->right = insert(t->right, k);
    return t;
}
static long sum(const struct node *t, int depth) { return t ? t->key * depth + sum(t->left, depth + 1) + sum(t->right, depth + 1) : 0; }
int main(void)
{
    struct node *t = NULL;
    unsigned long x = 7;
    for (int i = 0; i < 100000; i++) { x = x * 6364136223846793005UL + 1; t = insert(t, (long)(x >> 40)); }
    char *s = strdup("libhmm");
    printf("%ld %s\n", sum(t, 1), s);
    return 0;
}
C
gcc -O2 -Wall -c prog.c -o prog.o
gcc -O2 prog.o -o prog
od -A x -t x1 prog.o | cksum
./prog
GCCEOF
compare "gcc (compile, link, run)" gcc "$tmp/gcc.sh"

cat >"$tmp/sqlite.sh" <<'SQLEOF'
sqlite3 db.sqlite <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)
INSERT INTO t SELECT x, (x * 7919) % 1000, printf('name-%08d', (x * 104729) % 1000003) FROM c;
CREATE INDEX t_name ON t(name);
SELECT grp, count(*), min(name), max(name) FROM t GROUP BY grp ORDER BY grp LIMIT 20;
SELECT count(DISTINCT substr(name, 1, 9)), sum(length(name)) FROM t;
SELECT name FROM t WHERE name > 'name-00500000' ORDER BY name LIMIT 5;
SQL
SQLEOF
compare sqlite3 sqlite3 "$tmp/sqlite.sh"

cat >"$tmp/git.sh" <<'GITEOF'
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org \
    GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org \
    GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
git -c init.defaultBranch=main init -q repo && cd repo || exit 1
i=0
while [ $i -lt 30 ]; do
    seq $i 1000 | sed "s/^/line $i /" >"f$((i % 7)).txt"
    git add -A && git commit -q -m "commit $i" || exit 1
    i=$((i + 1))
done
git log --format='%H %s' | head -5
git rev-list --count HEAD
git diff HEAD~10 --stat | tail -1
git gc -q && git count-objects -v | grep -v size
git fsck --no-progress 2>&1 | wc -l
GITEOF
compare git git "$tmp/git.sh"

# Under LC_ALL=C, glibc's setlocale calls free(NULL) before anything else
# allocates: that first call must work.
cat >"$tmp/lc_all.sh" <<'LCEOF'
LC_ALL=C
export LC_ALL
expr abc : '\(a.\)'
basename -- /usr/lib/
printf 'b\na\nc\n' | sort
LCEOF
compare "coreutils under LC_ALL=C (expr, basename, sort)" expr "$tmp/lc_all.sh"

# Not a program of its own but a stress of the wrapper: many small processes.
cat >"$tmp/shell.sh" <<'SHEOF'
i=0
while [ $i -lt 200 ]; do
    printf '%s\n' "$i" | tr 0-9 a-j
    i=$((i + 1))
done | sort | uniq -c | sort -rn | head -3
SHEOF
compare "many short processes (sh, tr, sort, uniq)" sh "$tmp/shell.sh"
exit 0
