#!/usr/bin/env bash
# Installs the toolchain pieces the test suite needs: the wasm targets guests are built
# for, and nightly's rust-src for threadlink guests (`-Z build-std`).
set -euo pipefail
rustup target add wasm32-wasip1-threads wasm32-unknown-unknown
rustup component add rustfmt clippy
if rustup toolchain list | grep -q '^nightly'; then
    rustup component add rust-src --toolchain nightly
    rustup target add wasm32-unknown-unknown --toolchain nightly
else
    rustup toolchain install nightly --profile minimal --component rust-src --target wasm32-unknown-unknown
fi
