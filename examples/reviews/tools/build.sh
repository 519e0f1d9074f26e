#!/usr/bin/env bash
# Rebuilds tools/score.wasm from tools/score/. The built module is committed
# so that the example runs without a wasm toolchain.
set -euo pipefail
cd "$(dirname "$0")/score"
cargo build --release --target wasm32-unknown-unknown
cp target/wasm32-unknown-unknown/release/score.wasm ../score.wasm
