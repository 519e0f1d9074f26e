#!/usr/bin/env bash
# The Windows peer under wine: the word count run by flowc.exe must equal the
# Linux run, and a Windows peer that joins a Linux peer must compute part of
# a Linux origin's job with the same result. Not yet part of .ci/run: it has
# not passed on this machine yet (see the closing note of issue #7).
# Run after .ci/windows.sh, which builds flowc.exe and its stand-in DLL.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    printf '\n==> %s\n' "$*"
}

target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in
    /*) ;;
    *) target_dir="$PWD/$target_dir" ;;
esac
out="$target_dir/x86_64-pc-windows-gnu/debug"
export WINEDEBUG=-all
export WINEPREFIX=${WINEPREFIX:-$target_dir/wineprefix}
flowc() {
    wine "$out/flowc.exe" "$@"
}

step "flowc.exe run under wine: the word count, equal to the Linux run"
linux_flowc() {
    cargo run --locked --quiet --bin flowc -- "$@"
}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
linux_flowc run --quiet --format json examples/wordcount/job.flow >"$work/linux.json"
flowc run --quiet --format json examples/wordcount/job.flow | tr -d '\r' >"$work/windows.json"
cmp "$work/linux.json" "$work/windows.json"
echo "flowc.exe run examples/wordcount/job.flow: identical to the Linux run"

step "a Windows peer under wine computes part of a Linux origin's job"
# The Linux peer gives no core, so the only peer that can take work is the
# Windows one that joins it; the origin joins the Linux peer.
cargo build --locked --quiet --bin flowc
linux_bin="$target_dir/debug/flowc"
RUST_LOG=flow_executor=info "$linux_bin" peer --listen /ip4/127.0.0.1/tcp/0 --cores 0 \
    --identity "$work/linux.key" >"$work/linux.addr" 2>"$work/linux.log" &
for _ in $(seq 100); do [[ -s $work/linux.addr ]] && break; sleep 0.1; done
linux_address=$(sed -n 's/^listening on //p' "$work/linux.addr" | head -1)
RUST_LOG=flow_executor=info wine "$out/flowc.exe" peer --listen /ip4/127.0.0.1/tcp/0 --cores 1 \
    --identity "$work/windows.key" --join "$linux_address" >"$work/windows.addr" 2>"$work/windows.log" &
for _ in $(seq 300); do [[ -s $work/windows.addr ]] && break; sleep 0.1; done
cat "$work/windows.addr"
sleep 3
cat >"$work/job.flow" <<'FLOW'
input ids = range(0, 300000)

fn steps(n: int, taken: int) -> int =
  if n <= 1 then taken else if n % 2 == 0 then steps(n / 2, taken + 1) else steps(3 * n + 1, taken + 1)

output total = ids |> map(i => steps(i + 1, 0)) |> sum()
output longest = ids |> map(i => steps(i + 1, 0)) |> max()

policy {
  split = 2000
}
FLOW
"$linux_bin" run --quiet --format json --workers 1 "$work/job.flow" >"$work/local.json"
"$linux_bin" run --quiet --format json --workers 1 "$work/job.flow" --join "$linux_address" >"$work/swarm.json"
cmp "$work/local.json" "$work/swarm.json"
echo "the swarm result equals the local run: $(cat "$work/swarm.json")"
if ! grep -a "computing piece" "$work/windows.log"; then
    echo "the Windows peer computed nothing:" >&2
    cat "$work/windows.log" "$work/linux.log" >&2
    exit 1
fi
grep -a "piece .* started\|partial up" "$work/windows.log" | head -5

step "the Windows peer checks passed"
