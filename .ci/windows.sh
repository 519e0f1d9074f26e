#!/usr/bin/env bash
# The Windows build, cross-compiled with mingw-w64 and run under wine, so it
# cannot rot unnoticed. Called by .ci/run; runs alone too: `.ci/windows.sh`.
#
# Wine 8 lacks `ProcessPrng` in bcryptprimitives.dll, which Rust's standard
# library needs before `main`; tools/windows/bcryptprimitives.c is a stand-in
# DLL placed next to flowc.exe for these runs only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() {
    printf '\n==> %s\n' "$*"
}

if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
    step "installing mingw-w64 and wine"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq mingw-w64 wine >/dev/null
fi
rustup target add x86_64-pc-windows-gnu

target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/x86_64-pc-windows-gnu/debug"

# The whole workspace (every library and binary), not only flowc.exe, so no
# crate grows a Unix-only assumption unnoticed.
step "cargo build --target x86_64-pc-windows-gnu --workspace"
cargo build --locked --target x86_64-pc-windows-gnu --workspace
x86_64-w64-mingw32-gcc -O2 -shared -o "$out/bcryptprimitives.dll" \
    tools/windows/bcryptprimitives.c -ladvapi32

export WINEDEBUG=-all
case $target_dir in
    /*) ;;
    *) target_dir="$PWD/$target_dir" ;;
esac
export WINEPREFIX=${WINEPREFIX:-$target_dir/wineprefix}
flowc() {
    wine "$out/flowc.exe" "$@"
}

# Expect an exit status from flowc.exe; wine passes it through.
expect() {
    local want=$1
    shift
    local got=0
    flowc "$@" >/dev/null 2>&1 || got=$?
    if [[ $got != "$want" ]]; then
        echo "flowc.exe $* exited $got, expected $want" >&2
        flowc "$@" || true
        exit 1
    fi
    echo "flowc.exe $*: exit $got as expected"
}

step "flowc.exe under wine"
flowc --version
expect 0 check --color never examples/wordcount/job.flow examples/weather/job.flow
# Windows paths with backslashes name the same files.
expect 0 check --color never 'examples\outliers\job.flow'
expect 2 check --color never tests/ui/e0101_unknown_name.flow
expect 0 fmt --check examples/wordcount/job.flow
step "windows checks passed"
