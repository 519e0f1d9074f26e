# Shared by the benchmark scripts: paths, the bench-profile build folder and
# the generated corpus. Source it from a script in bench/.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
work=${BENCH_DIR:-/tmp/flowc-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

# corpus FILE SIZE_MIB: writes the deterministic corpus unless it is there.
corpus() {
    local file=$1 size=$2
    mkdir -p "$(dirname "$file")"
    if [[ ! -f $file || $(stat -c %s "$file") -lt $((size * 1024 * 1024)) ]]; then
        echo "generating a ${size} MiB corpus in $file"
        python3 bench/gen_corpus.py "$size" "$file"
    fi
}

# The folder the bench profile builds into.
bench_bin() {
    if [[ -x $CARGO_TARGET_DIR/release/flowc ]]; then
        echo "$CARGO_TARGET_DIR/release"
    else
        echo "$CARGO_TARGET_DIR/bench"
    fi
}
