#!/usr/bin/env bash
# Peak memory of a word count over a large generated file.
#
# Usage: bench/memory.sh [SIZE_MIB]   (default: 1024 MiB)
#
# flowc streams inputs chunk by chunk, so its peak resident memory should
# stay far below the input size (the target is under 300 MiB for 1 GiB).
# Prints the peak resident set size that /usr/bin/time reports.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
size=${1:-1024}
work=${BENCH_DIR:-/tmp/flowc-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p "$work/big/data"
corpus="$work/big/data/corpus.txt"
if [[ ! -f $corpus || $(stat -c %s "$corpus") -lt $((size * 1024 * 1024)) ]]; then
    echo "generating a ${size} MiB corpus in $corpus"
    python3 bench/gen_corpus.py "$size" "$corpus"
fi
cp examples/wordcount/job.flow "$work/big/job.flow"
cargo build --locked --profile bench --bin flowc
bin="$CARGO_TARGET_DIR/release"
[[ -x $bin/flowc ]] || bin="$CARGO_TARGET_DIR/bench"
/usr/bin/time -v "$bin/flowc" run --quiet --format json "$work/big/job.flow" >/dev/null 2>"$work/time.txt"
peak_kib=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
printf 'word count over %d MiB: peak resident memory %d MiB\n' "$size" "$((peak_kib / 1024))"
