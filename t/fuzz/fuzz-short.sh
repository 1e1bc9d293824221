#!/bin/sh
# fuzz-short.sh - a short run of the fuzzer (t/fuzz/fuzz) for make check:
# fixed seeds, so a failure here replays with the command it prints.
echo 1..2
n=0
for args in "--seed 1 --threads 1 --ops 60000" "--seed 2 --threads 4 --ops 15000"; do
    n=$((n + 1))
    if out=$(./t/fuzz/fuzz $args 2>&1); then
        echo "ok $n - t/fuzz/fuzz $args"
    else
        echo "not ok $n - t/fuzz/fuzz $args"
    fi
    printf '%s\n' "$out" | sed 's/^/# /'
done
