#!/usr/bin/env bash
# The Windows peer under wine: the word count run by flowc.exe must equal the
# Linux run, and a Windows peer that joins a Linux peer must compute part of
# a Linux origin's job with the same result. Called by .ci/run after
# .ci/windows.sh, which builds flowc.exe and its stand-in DLL.
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

step "flowc.exe: globs with backslashes and drive letters, outputs to files"
# The same word count with its glob spelled the Windows way, relative and
# absolute (wine maps drive Z: to /): the results equal the Linux run. Then
# an output `to` a file in folders given with backslashes.
mkdir -p "$work/win/data"
cp examples/wordcount/data/*.txt "$work/win/data/"
python3 - "$work/win" <<'PY'
import pathlib, sys
folder = pathlib.Path(sys.argv[1])
job = pathlib.Path("examples/wordcount/job.flow").read_text()
glob = 'lines("data/*.txt")'
assert glob in job
def flow_string(text):
    return '"' + text.replace("\\", "\\\\") + '"'
relative = "data\\*.txt"
absolute = "Z:" + str(folder).replace("/", "\\") + "\\data\\*.txt"
(folder / "relative.flow").write_text(job.replace(glob, f"lines({flow_string(relative)})"))
(folder / "absolute.flow").write_text(job.replace(glob, f"lines({flow_string(absolute)})"))
target = flow_string("out\\sub\\total.json")
(folder / "to_file.flow").write_text(
    f"input ids = range(0, 1000)\noutput total = ids |> sum() to {target}\n"
)
PY
for job in relative absolute; do
    grep -a 'lines(' "$work/win/$job.flow"
    flowc run --quiet --format json "$work/win/$job.flow" | tr -d '\r' >"$work/win/$job.json"
    cmp "$work/linux.json" "$work/win/$job.json"
    echo "flowc.exe run with a $job Windows glob: identical to the Linux run"
done
(cd "$work/win" && wine "$out/flowc.exe" run --quiet to_file.flow)
tr -d '\r' <"$work/win/out/sub/total.json"
echo
grep -q '499500' "$work/win/out/sub/total.json"
echo "flowc.exe wrote out\\sub\\total.json"

step "a Windows peer under wine computes part of a Linux origin's job"
# The origin computes nothing itself (`--workers 0`) and joins the Linux
# peer; the Windows peer joins the Linux peer too and is found through it.
# Both peers give one core, so the job is shared between Linux and Windows.
cargo build --locked --quiet --bin flowc
linux_bin="$target_dir/debug/flowc"
RUST_LOG=flow_executor=info "$linux_bin" peer --listen /ip4/127.0.0.1/tcp/0 --cores 1 \
    --identity "$work/linux.key" >"$work/linux.addr" 2>"$work/linux.log" &
for _ in $(seq 100); do [[ -s $work/linux.addr ]] && break; sleep 0.1; done
linux_address=$(sed -n 's/^listening on //p' "$work/linux.addr" | head -1)
RUST_LOG=flow_executor=info wine "$out/flowc.exe" peer --listen /ip4/127.0.0.1/tcp/0 --cores 1 \
    --identity "$work/windows.key" --join "$linux_address" >"$work/windows.addr" 2>"$work/windows.log" &
for _ in $(seq 300); do [[ -s $work/windows.addr ]] && break; sleep 0.1; done
cat "$work/windows.addr"
sleep 3
cat >"$work/job.flow" <<'FLOW'
input ids = range(0, 5000000)

fn steps(n: int, taken: int) -> int =
  if n <= 1 then taken else if n % 2 == 0 then steps(n / 2, taken + 1) else steps(3 * n + 1, taken + 1)

output total = ids |> map(i => steps(i + 1, 0)) |> sum()
output longest = ids |> map(i => steps(i + 1, 0)) |> max()

policy {
  split = 20000
}
FLOW
"$linux_bin" run --quiet --format json --workers 1 "$work/job.flow" >"$work/local.json"
RUST_LOG=flow_executor=debug "$linux_bin" run --quiet --format json --workers 0 "$work/job.flow" --join "$linux_address" >"$work/swarm.json" 2>"$work/origin.log"
cmp "$work/local.json" "$work/swarm.json"
echo "the swarm result equals the local run: $(cat "$work/swarm.json")"
# Work done for the origin shows as a partial the Windows peer sent up.
if ! grep -a "partial up" "$work/windows.log"; then
    echo "the Windows peer sent no partial up:" >&2
    cat "$work/windows.log" "$work/linux.log" "$work/origin.log" >&2
    exit 1
fi
echo "pieces the Linux peer computed:"
grep -a "partial up" "$work/linux.log" || echo "(none)"

step "the Windows peer checks passed"
