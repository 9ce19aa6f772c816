#!/usr/bin/env bash
# The README's first command: build the racy example for wasm and run it under
# `wasmgrind check`, which prints a race report at the example's source lines.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip1-threads >/dev/null 2>&1 || rustup target add wasm32-wasip1-threads
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet --manifest-path examples/racy/Cargo.toml \
    --target wasm32-wasip1-threads --target-dir "$target_dir/examples"
cargo run --release --quiet -p wasmgrind -- \
    check "$target_dir/examples/wasm32-wasip1-threads/release/racy.wasm" "$@"
