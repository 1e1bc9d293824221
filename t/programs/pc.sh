#!/bin/sh
# pc.sh - the hmm.pc of the build tree: libdir and includedir are written
# relative to ${exec_prefix} and ${prefix}, so that pkg-config's
# --define-variable=prefix= (and a relocated tree) moves them too.

pc=${abs_top_builddir:?run through make check}/hmm.pc
echo "1..3"
grep -q '^libdir=\${exec_prefix}/' "$pc" && echo "ok 1 - libdir is relative to \${exec_prefix}" ||
    echo "not ok 1 - libdir is relative to \${exec_prefix}: $(grep '^libdir=' "$pc")"
grep -q '^includedir=\${prefix}/' "$pc" && echo "ok 2 - includedir is relative to \${prefix}" ||
    echo "not ok 2 - includedir is relative to \${prefix}: $(grep '^includedir=' "$pc")"
if command -v pkg-config >/dev/null 2>&1; then
    got=$(pkg-config --define-variable=prefix=/opt/hmm --variable=includedir "$pc")
    [ "$got" = /opt/hmm/include ] && echo "ok 3 - a new prefix moves includedir ($got)" ||
        echo "not ok 3 - a new prefix moves includedir ($got)"
else
    echo "ok 3 # SKIP pkg-config is not installed"
fi
exit 0
