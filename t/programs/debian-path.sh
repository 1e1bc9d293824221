#!/bin/bash
# t/programs/debian-path.sh - the whole path of a Debian user, end to end:
#
#   make dist -> unpack in a temp dir -> dpkg-buildpackage -> lintian ->
#   local apt repository (file: source) -> apt-get install libhmm ->
#   hmm-run on real programs -> man pages -> apt-get install libhmm-dev ->
#   build a program with pkg-config and run it -> apt-get purge ->
#   nothing left behind.
#
# Usage: t/programs/debian-path.sh [SRCDIR]
#        (run from a configured build directory)
#
# SRCDIR defaults to $srcdir, then to the top of the tree, two directories
# above this script.  The build directory is the current directory; when it
# holds no Makefile, the tree is configured afresh in a temporary directory.
# Needs root, since it installs and purges packages; without root it prints
# a skip and exits 0.
# Output is TAP: "ok N - ...", "not ok N - ...", a final "1..N"; the exit
# status is non-zero when a check failed.  Everything it adds to the system
# (packages, the apt source, apt's lists for it, the temp dir) is removed
# on every exit, including failures and interrupts.
#
# Environment: DEB_BUILD_OPTIONS is passed to dpkg-buildpackage (default:
# "parallel=<cores>"; add "nocheck" to skip the library's own tests there);
# KEEP_TMP=1 keeps the temp dir for inspection.

set -u
export LC_ALL=C.UTF-8
export DEBIAN_FRONTEND=noninteractive
# The system's programs, as a Debian user has them (not a pyenv shim or a
# /usr/local copy that happens to come first in the caller's PATH).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

self_dir=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "${1:-${srcdir:-$self_dir/../..}}" && pwd) || {
    echo "Bail out! no source directory"
    exit 1
}
builddir=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP t/programs/debian-path.sh installs packages and needs root"
    exit 0
fi

# Two runs at once (two build trees, two check-all) would install and purge
# the same packages under each other: the second waits for the first.
exec 9> /run/lock/libhmm-debian-path.lock
if ! flock -n 9; then
    echo "# another t/programs/debian-path.sh is running; waiting for it (at most 30 minutes)"
    flock -w 1800 9 || {
        echo "Bail out! still locked after 30 minutes: /run/lock/libhmm-debian-path.lock"
        exit 1
    }
fi

pkgs=(libhmm libhmm1 libhmm-dev)
list=/etc/apt/sources.list.d/libhmm-debian-path-test.list
tmp=
installed_any=0
n=0
failed=0

ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
}
# check DESCRIPTION COMMAND...: one test from a command's status.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() {
    sed 's/^/# /'
}
bail() {
    echo "Bail out! $1"
    exit 1
}

lists_of_source() {
    # apt names list files after the URI, with "/" turned into "_".
    local key
    key=$(printf '%s' "$tmp/repo" | sed 's|^/||; s|/|_|g')
    local f
    for f in /var/lib/apt/lists/*"$key"*; do
        [ -e "$f" ] && echo "$f"
    done
    return 0
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    if [ "$installed_any" = 1 ]; then
        apt-get purge -y -q -o DPkg::Lock::Timeout=300 "${pkgs[@]}" > /dev/null 2>&1 ||
            dpkg --purge "${pkgs[@]}" > /dev/null 2>&1
    fi
    rm -f "$list"
    if [ -n "$tmp" ]; then
        lists_of_source | xargs -r rm -f
        if [ "${KEEP_TMP:-0}" = 1 ]; then
            echo "# temp dir kept: $tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    echo "1..$n"
    [ "$failed" -eq 0 ] || rc=1
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

for tool in dpkg-buildpackage dpkg-scanpackages apt-get man pkg-config cc; do
    command -v "$tool" > /dev/null || bail "$tool is not installed (see README, first command)"
done
# A package manager run already going, or an earlier copy of ours installed:
# purging at the end would remove something this test did not install.
for p in "${pkgs[@]}"; do
    if dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2> /dev/null | grep -q '^[hi]i'; then
        bail "$p is already installed; remove it before running this test"
    fi
done

tmp=$(mktemp -d /tmp/libhmm-debian-path.XXXXXX) || bail "mktemp failed"
# apt reads the repository as the _apt user: the tree must be readable.
chmod 755 "$tmp"

# --- 1. a release tarball, unpacked in the temp dir ---------------------------
if [ ! -f "$builddir/Makefile" ]; then
    [ -x "$srcdir/configure" ] || bail "no Makefile here and no $srcdir/configure: run autoreconf -fi"
    mkdir "$tmp/conf" && cd "$tmp/conf" || bail "cannot make $tmp/conf"
    "$srcdir/configure" > "$tmp/configure.log" 2>&1 || {
        diag < "$tmp/configure.log"
        bail "configure failed"
    }
    builddir=$tmp/conf
fi
cd "$builddir" || bail "cannot enter $builddir"
version=$(sed -n 's/^PACKAGE_VERSION = //p' Makefile)
[ -n "$version" ] || bail "cannot read PACKAGE_VERSION from $builddir/Makefile"
if make dist-gzip > "$tmp/dist.log" 2>&1 && [ -f "libhmm-$version.tar.gz" ]; then
    ok "make dist made libhmm-$version.tar.gz"
else
    diag < "$tmp/dist.log"
    bail "make dist failed"
fi
mkdir "$tmp/build"
tar -C "$tmp/build" -xzf "libhmm-$version.tar.gz" || bail "cannot unpack the tarball"
tree=$tmp/build/libhmm-$version
check "the tarball ships debian/" test -x "$tree/debian/rules"

# --- 2. the packages ----------------------------------------------------------
cd "$tree" || bail "cannot enter $tree"
# What a user does first: get the Build-Depends (build-essential included).
if dpkg-checkbuilddeps > "$tmp/builddeps.log" 2>&1; then
    ok "Build-Depends are installed"
elif apt-get build-dep -y -q -o DPkg::Lock::Timeout=300 ./ >> "$tmp/builddeps.log" 2>&1; then
    ok "Build-Depends installed with apt-get build-dep ./"
else
    diag < "$tmp/builddeps.log"
    bail "cannot install the Build-Depends"
fi
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
echo "# dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
if dpkg-buildpackage -us -uc -b > "$tmp/buildpackage.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b"
else
    { grep -E '^(FAIL|ERROR|XPASS):' "$tmp/buildpackage.log"; tail -n 25 "$tmp/buildpackage.log"; } | diag
    not_ok "dpkg-buildpackage -us -uc -b"
    bail "no packages to test"
fi
cd "$tmp/build" || bail "cannot enter $tmp/build"
changes=$(ls ./*.changes)
for p in "${pkgs[@]}"; do
    check "$p .deb built" test -n "$(ls "${p}_${version}"_*.deb 2> /dev/null)"
done
if command -v lintian > /dev/null; then
    if lintian --fail-on error,warning "$changes" > "$tmp/lintian.log" 2>&1 &&
        ! grep -q '^[EW]:' "$tmp/lintian.log"; then
        ok "lintian: no error, no warning"
    else
        diag < "$tmp/lintian.log"
        not_ok "lintian: no error, no warning"
    fi
else
    ok "lintian # SKIP lintian is not installed"
fi
check "libhmm1 ships its symbols file" \
    sh -c "dpkg-deb -I libhmm1_${version}_*.deb symbols | grep -q '^ HmmAlloc@Base'"

# --- 3. a local apt repository and apt-get install libhmm ----------------------
mkdir "$tmp/repo"
cp ./*.deb "$tmp/repo/"
(cd "$tmp/repo" && dpkg-scanpackages --multiversion . /dev/null > Packages 2> "$tmp/scan.log") ||
    bail "dpkg-scanpackages failed"
chmod -R a+rX "$tmp/repo"
echo "deb [trusted=yes] file:$tmp/repo ./" > "$list"
if apt-get update -q -o DPkg::Lock::Timeout=300 -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0 > "$tmp/update.log" 2>&1; then
    ok "apt-get update of the local source"
else
    diag < "$tmp/update.log"
    bail "apt-get update failed"
fi
# Minimal images (Docker's) tell dpkg to drop /usr/share/man; this test is
# about the man pages too, so they are let through for our packages.
apt_opts=()
if grep -qs '^path-exclude=*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
    apt_opts=(-o 'DPkg::Options::=--path-include=/usr/share/man/*')
    echo "# dpkg excludes /usr/share/man here; installing with --path-include"
fi
installed_any=1
if apt-get install -y -q -o DPkg::Lock::Timeout=300 "${apt_opts[@]}" libhmm > "$tmp/install.log" 2>&1; then
    ok "apt-get install libhmm"
else
    diag < "$tmp/install.log"
    bail "apt-get install libhmm failed"
fi
check "apt took libhmm from the local repository" \
    grep -q "libhmm1.*$version" "$tmp/install.log"
check "libhmm1 came with it" \
    sh -c "dpkg-query -W -f='\${db:Status-Abbrev}' libhmm1 | grep -q '^ii'"
check "hmm-run is /usr/bin/hmm-run" test "$(command -v hmm-run)" = /usr/bin/hmm-run

# --- 4. hmm-run on real programs ----------------------------------------------
cd "$tmp" || bail "cannot enter $tmp"
seq 1 100000 | awk '{ print ($1 * 7919) % 100003, "line", $1 }' > input.txt
same() {
    local what=$1
    shift
    if ! command -v "$1" > /dev/null; then
        ok "hmm-run $what # SKIP $1 is not installed"
        return
    fi
    "$@" > plain.out 2>&1
    local rc1=$?
    hmm-run "$@" > hmm.out 2>&1
    local rc2=$?
    if [ "$rc1" -eq "$rc2" ] && cmp -s plain.out hmm.out; then
        ok "hmm-run $what: same output and status"
    else
        { echo "status $rc1 without, $rc2 with hmm-run"; diff plain.out hmm.out | head -n 20; } | diag
        not_ok "hmm-run $what: same output and status"
    fi
}
same "sort" sort -n input.txt
same "python3" python3 -c '
import json, collections
d = {str(i): list(range(i % 40)) for i in range(100000)}
c = collections.Counter(len(v) for v in d.values())
print(len(json.dumps(d)), sorted(c.items())[:5])'
# shellcheck disable=SC2016
same "perl" perl -e '
my %h; $h{$_} = join(",", 1 .. ($_ % 50)) for 1 .. 100000;
my $t = 0; $t += length $h{$_} for keys %h; print scalar(keys %h), " $t\n";'
check "hmm-run really preloads the installed library" \
    sh -c 'hmm-run cat /proc/self/maps | grep -q "/libhmm\.so\.1"'
check "hmm-run --stats prints statistics" \
    sh -c 'hmm-run --stats true 2>&1 >/dev/null | grep -q mapped'
# libhmm.so.1 is linked with libc only: the libraries of the leak report
# and the heap profile (libgcc_s, libunwind, libm) are loaded when they are
# on, so the package must have brought them in.
check "hmm-run --leaks reports, with no library missing" \
    sh -c 'hmm-run --leaks sort -n input.txt 2>&1 >/dev/null | grep -q "^libhmm: leaks:" &&
        ! hmm-run --leaks true 2>&1 | grep -q "cannot load"'
check "hmm-run --profile writes a profile, with no library missing" \
    sh -c 'hmm-run --profile=prof.txt sort -n input.txt 2>prof.err >/dev/null &&
        test -f prof.txt.heap && ! grep -q "cannot load" prof.err'
hmm-run sh -c 'exit 7'
check "hmm-run passes the exit status on" test $? -eq 7
hmm-run /nonexistent/program 2> /dev/null
check "hmm-run exits 127 for a missing command" test $? -eq 127
# --compare and --heap-map: the helpers in /usr/share/libhmm and
# /usr/libexec/libhmm, and
# python3-matplotlib, which apt installed as a recommendation.
if hmm-run --compare -n 1 --allocators libhmm,glibc --chart cmp.svg -- sort -n input.txt \
    > compare.out 2> compare.err; then
    ok "hmm-run --compare -n 1 sort"
else
    cat compare.out compare.err | diag
    not_ok "hmm-run --compare -n 1 sort"
fi
check "... prints a row for libhmm and for glibc" \
    sh -c 'grep -q "^libhmm " compare.out && grep -q "^glibc " compare.out'
check "... and draws the chart" grep -q '<svg' cmp.svg
hmm-run --heap-map heap.png --data heap.data -- sort -n input.txt > /dev/null 2> heap.err
check "hmm-run --heap-map sort exits 0" test $? -eq 0
check "... draws a PNG" sh -c 'head -c 4 heap.png | grep -q PNG'
check "... from the stream libhmm wrote" sh -c 'grep -q "^S .* exit " heap.data'

# --- 5. the manual ------------------------------------------------------------
check "man -w 3 HmmAlloc" sh -c 'man -w 3 HmmAlloc | grep -q "/man3/HmmAlloc\.3"'
for page in "3 HmmFree" "3 HmmCalloc" "3 HmmRealloc" "3 HmmAlignedAlloc" \
    "3 HmmUsableSize" "3 HmmGetStats" "3 HmmPrintStats"; do
    # shellcheck disable=SC2086
    check "man -w $page" sh -c "man -w $page > /dev/null"
done
check "man 1 hmm-run renders" sh -c 'MANPAGER=cat MANWIDTH=80 man 1 hmm-run 2>/dev/null | grep -q "EXIT STATUS"'
check "man 7 libhmm renders" sh -c 'MANPAGER=cat MANWIDTH=80 man 7 libhmm 2>/dev/null | grep -q "DIAGNOSTICS"'
check "man 3 HmmFree shows HmmAlloc's page" \
    sh -c 'MANPAGER=cat MANWIDTH=80 man 3 HmmFree 2>/dev/null | grep -q "HmmCalloc()"'
warnings=$(for f in $(dpkg -L libhmm | grep '^/usr/share/man/.*\.gz$'); do
    LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 > /dev/null
done)
if [ -z "$warnings" ]; then
    ok "installed pages render without warnings"
else
    echo "$warnings" | diag
    not_ok "installed pages render without warnings"
fi

# --- 6. libhmm-dev: a program built with pkg-config ----------------------------
if apt-get install -y -q -o DPkg::Lock::Timeout=300 libhmm-dev > "$tmp/install-dev.log" 2>&1; then
    ok "apt-get install libhmm-dev"
else
    diag < "$tmp/install-dev.log"
    not_ok "apt-get install libhmm-dev"
fi
cat > app.c << 'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hmm.h>

int main(void)
{
    char *a = HmmAlloc(100), *b = malloc(1000);
    HmmStats st;

    if (a == NULL || b == NULL)
        return 1;
    strcpy(a, "from HmmAlloc");
    b = realloc(b, 1 << 20);
    if (b == NULL || HmmUsableSize(b) < (1 << 20))
        return 2;
    free(a);    /* a HmmAlloc block through free: one allocator */
    HmmFree(b); /* and a malloc block through HmmFree */
    if (HmmGetStats(&st) != 0 || st.mapped == 0)
        return 3;
    printf("libhmm ok, %s\n", st.heaps > 0 ? "heaps counted" : "no heaps?");
    return 0;
}
EOF
# shellcheck disable=SC2046
if cc -fno-builtin -Wall -o app app.c $(pkg-config --cflags --libs hmm) > cc.log 2>&1; then
    ok "cc app.c \$(pkg-config --cflags --libs hmm)"
else
    diag < cc.log
    not_ok "cc app.c \$(pkg-config --cflags --libs hmm)"
fi
check "the program links libhmm.so.1" sh -c 'ldd ./app | grep -Eq "libhmm\.so\.1 => (/usr)?/lib/"'
check "the program runs on libhmm" sh -c './app | grep -qx "libhmm ok, heaps counted"'

# --- 7. purge, and nothing left behind -----------------------------------------
if apt-get purge -y -q -o DPkg::Lock::Timeout=300 "${pkgs[@]}" > "$tmp/purge.log" 2>&1; then
    ok "apt-get purge ${pkgs[*]}"
    installed_any=0
else
    diag < "$tmp/purge.log"
    not_ok "apt-get purge ${pkgs[*]}"
fi
rm -f "$list"
lists_of_source | xargs -r rm -f
left=$(dpkg-query -W -f='${binary:Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2> /dev/null | grep -v ' un *$')
if [ -z "$left" ]; then
    ok "dpkg knows none of ${pkgs[*]}"
else
    echo "$left" | diag
    not_ok "dpkg knows none of ${pkgs[*]}"
fi
left=$(ls -d /usr/lib/*/libhmm* /usr/lib/*/pkgconfig/hmm.pc /usr/bin/hmm-run /usr/include/hmm.h \
    /usr/share/man/*/Hmm* /usr/share/man/*/libhmm* /usr/share/man/*/hmm-run* \
    /usr/share/doc/libhmm* /usr/share/lintian/overrides/libhmm* /usr/libexec/libhmm \
    /usr/share/libhmm 2> /dev/null)
if [ -z "$left" ]; then
    ok "no file left behind"
else
    echo "$left" | diag
    not_ok "no file left behind"
fi
check "the apt source is gone" test ! -e "$list"
check "apt's lists of the source are gone" test -z "$(lists_of_source)"
