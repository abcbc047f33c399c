#!/usr/bin/env bash
# Copies each target's seed files (the list in fuzz/src/targets.rs) into fuzz/corpus/<target>/.
set -eu
cd "$(dirname "$0")/.."
grep -o 'name: "[a-z]*", run: [a-z]*, seeds: &\[[^]]*\]' fuzz/src/targets.rs | while read -r line; do
    name=$(echo "$line" | sed 's/name: "\([a-z]*\)".*/\1/')
    mkdir -p "fuzz/corpus/$name"
    for f in $(echo "$line" | grep -o '"[^"]*/[^"]*"' | tr -d '"'); do cp "$f" "fuzz/corpus/$name/"; done
done
ls fuzz/corpus
