#!/usr/bin/env bash
# The README's main job, part 2: a program run through jitcore-run twice
# with one cache directory. The first (cold) run compiles and fills the
# cache; the second (warm) run loads every object from it and compiles
# nothing. Prints both times and the cache statistics (--stats).
set -euo pipefail
cd "$(dirname "$0")/.."
run=target/release/jitcore-run
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_lazy_ir.py "$work/demo.ll" 200 40
echo "== demo: a 200-function program, run twice with -object-cache-dir"
for pass in cold warm; do
    start=$(date +%s.%N)
    set +e
    "$run" -enable-cache-manager -object-cache-dir="$work/cache" --stats "$work/demo.ll" 2>"$work/$pass.stats"
    status=$?
    set -e
    end=$(date +%s.%N)
    printf '%s run: %.2f s, exit status %d (main returns a checksum)\n' "$pass" \
        "$(python3 -c "print($end - $start)")" "$status"
    sed 's/^/    /' "$work/$pass.stats"
done
