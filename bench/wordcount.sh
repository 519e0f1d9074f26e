#!/usr/bin/env bash
# flowc against a hand-written native Rust word count, on all cores.
#
# Usage: bench/wordcount.sh [SIZE_MIB] [RUNS]   (defaults: 256 MiB, 5 runs)
#
# Generates a deterministic corpus (bench/gen_corpus.py), builds `flowc` and
# `native-wordcount` with the `bench` profile (release settings, its own
# target folder so it never disturbs debug builds), runs each RUNS times on
# the same file, and prints the median wall time of each and their ratio.
# It also times a trivial job end to end with a warm module cache.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
size=${1:-256}
runs=${2:-5}

corpus="$work/job/data/corpus.txt"
corpus "$corpus" "$size"
cp examples/wordcount/job.flow "$work/job/job.flow"

cargo build --locked --profile bench -p flowc --bin flowc -p native-wordcount --bin native-wordcount
bin=$(bench_bin)

calc() { python3 -c "print($1)"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() {
    for _ in $(seq "$runs"); do
        local start end
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        calc "$end - $start"
    done | median
}

cores=$(nproc)
echo "machine: $(uname -m), $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
native=$(time_runs "$bin/native-wordcount" "$corpus" "$cores" 20)
flowc=$(time_runs "$bin/flowc" run --quiet --format json "$work/job/job.flow")
printf 'native word count: median %.3f s over %d runs\n' "$native" "$runs"
printf 'flowc run:         median %.3f s over %d runs\n' "$flowc" "$runs"
printf 'ratio flowc/native: %.2f\n' "$(calc "$flowc / $native")"

mkdir -p "$work/trivial"
printf 'input ids = range(0, 10)\noutput total = ids |> sum()\n' >"$work/trivial/job.flow"
"$bin/flowc" run --quiet "$work/trivial/job.flow" >/dev/null # warms the module cache
trivial=$(time_runs "$bin/flowc" run --quiet "$work/trivial/job.flow")
printf 'trivial job end to end (warm cache): median %.0f ms\n' "$(calc "$trivial * 1000")"
