#!/usr/bin/env bash
# Peak memory of a word count over a large generated file.
#
# Usage: bench/memory.sh [SIZE_MIB]   (default: 1024 MiB)
#
# flowc streams inputs chunk by chunk, so its peak resident memory should
# stay far below the input size (the target is under 300 MiB for 1 GiB).
# Prints the peak resident set size that /usr/bin/time reports.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
size=${1:-1024}

corpus "$work/big/data/corpus.txt" "$size"
cp examples/wordcount/job.flow "$work/big/job.flow"
cargo build --locked --profile bench --bin flowc
bin=$(bench_bin)
/usr/bin/time -v "$bin/flowc" run --quiet --format json "$work/big/job.flow" >/dev/null 2>"$work/time.txt"
peak_kib=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
printf 'word count over %d MiB: peak resident memory %d MiB\n' "$size" "$((peak_kib / 1024))"
