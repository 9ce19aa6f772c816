#!/usr/bin/env bash
# The README's test command: installs what the tests need (wasm targets, nightly
# rust-src for threadlink guests), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo test --release --workspace "$@"
