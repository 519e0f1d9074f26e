#!/usr/bin/env bash
# The word count over a generated corpus on 1 peer versus 2 peer processes,
# each giving one core, on this machine; and the delegation overhead per hop.
#
# Usage: bench/swarm.sh [SIZE_MIB] [RUNS] [PROFILE]   (defaults: 256, 3, bench)
#
# "1 peer" is `flowc run --workers 1` alone. "2 peers" is the same command
# with `--join` to one `flowc peer --cores 1`: the origin computes its share
# and delegates the rest. The overhead per hop is the time from a parent's
# "delegating piece N" log line to the child's "piece N started" (module
# fetched and loaded, first chunk about to be read), both on one clock.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
size=${1:-256}
runs=${2:-3}
profile=${3:-bench}

corpus="$work/swarm/data/corpus.txt"
corpus "$corpus" "$size"
cp examples/wordcount/job.flow "$work/swarm/job.flow"

cargo build --locked --profile "$profile" -p flowc --bin flowc
case $profile in
    dev) bin="$CARGO_TARGET_DIR/debug" ;;
    bench) bin=$(bench_bin) ;;
    *) bin="$CARGO_TARGET_DIR/$profile" ;;
esac

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

cd "$work/swarm"
rm -f peer.log origin.log
RUST_LOG=flow_executor=info "$bin/flowc" peer --listen /ip4/127.0.0.1/tcp/0 --cores 1 \
    --identity "$work/swarm/peer.key" >peer.addr 2>peer.log &
peer=$!
trap 'kill $peer 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s peer.addr ]] && break; sleep 0.05; done
address=$(sed -n 's/^listening on //p' peer.addr | head -1)

echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); profile $profile; corpus ${size} MiB"
one=$(time_runs "$bin/flowc" run --quiet --format json --workers 1 job.flow)
two=$(time_runs env RUST_LOG=flow_executor=info "$bin/flowc" run --quiet --format json --workers 1 job.flow --join "$address" 2>>origin.log)
"$bin/flowc" run --quiet --format json --workers 1 job.flow >one.json
"$bin/flowc" run --quiet --format json --workers 1 job.flow --join "$address" >two.json 2>>origin.log
cmp -s one.json two.json || { echo "the two results differ" >&2; exit 1; }
printf '1 peer:  median %.3f s over %d runs\n' "$one" "$runs"
printf '2 peers: median %.3f s over %d runs (identical output)\n' "$two" "$runs"
printf 'speedup: %.2fx\n' "$(calc "$one / $two")"
python3 - origin.log peer.log <<'PY'
import re, sys, datetime
def stamps(path, pattern):
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.search(pattern, line)
        if m:
            t = datetime.datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
            out[m.groups()] = t
    return out
sent = stamps(sys.argv[1], r"delegating piece (\d+) .*job: (\d+), part: (\d+)")
started = stamps(sys.argv[2], r"piece (\d+) started.*job: (\d+), part: (\d+)")
gaps = sorted((started[k] - sent[k]).total_seconds() * 1000 for k in sent if k in started)
if gaps:
    print(f"delegation overhead per hop: median {gaps[len(gaps)//2]:.1f} ms over {len(gaps)} delegations (min {gaps[0]:.1f}, max {gaps[-1]:.1f})")
else:
    print("no delegation was logged")
PY
