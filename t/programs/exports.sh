#!/bin/sh
# exports.sh - the ELF interface of the built library: file libhmm.so.1.0.0
# with SONAME libhmm.so.1, exporting exactly the Hmm* API and the malloc
# family, all unversioned (a version node would stop the malloc family from
# interposing on programs bound to malloc@GLIBC_2.2.5), and nothing internal.

: "${abs_top_builddir:?run through make check}"
lib=$abs_top_builddir/.libs/libhmm.so.1

for tool in nm objdump; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "1..0 # SKIP $tool (binutils) is not installed"
        exit 0
    fi
done

echo "1..7"
n=0
result() { # result OK-STATUS DESCRIPTION
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}

target=$(readlink "$lib")
[ "$target" = libhmm.so.1.0.0 ]
result $? "libhmm.so.1 links to libhmm.so.1.0.0 (is '$target')"

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libhmm.so.1 ]
result $? "the SONAME is libhmm.so.1 (is '$soname')"

required="HmmAlignedAlloc HmmAlloc HmmCalloc HmmFree HmmGetStats HmmPrintStats HmmRealloc
HmmUsableSize aligned_alloc calloc free free_aligned_sized free_sized mallinfo mallinfo2 malloc
malloc_info malloc_stats malloc_trim malloc_usable_size mallopt memalign posix_memalign pvalloc
realloc valloc"
optional="reallocarray"
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWwiDdBbVvRr]$/ { print $3 }' | sed 's/@.*//' | sort -u)

missing=
for s in $required; do
    printf '%s\n' "$exported" | grep -qx "$s" || missing="$missing $s"
done
[ -z "$missing" ]
result $? "every entry point is exported${missing:+ (missing:$missing)}"

extra=
for s in $exported; do
    case " $(echo $required) $optional " in
    *" $s "*) ;;
    *) extra="$extra $s" ;;
    esac
done
[ -z "$extra" ]
result $? "nothing else is exported${extra:+ (also:$extra)}"

versioned=$(objdump -T "$lib" | awk '$2 == "g" && $0 !~ /\*UND\*/ && $(NF-1) != "Base" { print $NF "@" $(NF-1) }')
[ -z "$versioned" ]
result $? "every exported symbol is unversioned${versioned:+ (versioned: $(echo $versioned))}"

objdump -p "$lib" | grep -q 'VERDEF'
[ $? != 0 ]
result $? "the library defines no symbol version node"

# The build tree's library keeps its symbol table: the fault injection of
# the tests' static core (src/base/os.c) must not be in it.
symbols=$(nm "$lib" 2>/dev/null)
if printf '%s\n' "$symbols" | grep -q ' hmm_heap_setup$'; then
    faults=$(printf '%s\n' "$symbols" | awk '$3 ~ /^hmm_os_(fail_at|fault_calls)$/ { print $3 }')
    [ -z "$faults" ]
    result $? "the library holds no fault injection${faults:+ (found: $(echo $faults))}"
else
    n=$((n + 1))
    echo "ok $n # SKIP the library's symbol table was stripped"
fi
exit 0
