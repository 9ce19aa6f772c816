//! Building the real wasm_threadlink guests for the threadify integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The guests `guests/threadlink` builds, each exporting `run`.
pub const GUESTS: [&str; 7] = [
    "tls_counters",
    "deep_recursion",
    "spawn_join",
    "mutex_counter",
    "guest_panic",
    "join_unknown",
    "join_trapped",
];

/// This package's directory, read when the test runs (cargo sets it), so a test binary
/// that cargo reuses from another checkout sharing the target directory still finds this
/// checkout's files; the compile-time value when run outside cargo.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

pub fn repo_root() -> PathBuf {
    manifest_dir().join("../..").canonicalize().unwrap()
}

/// Builds the guest workspace (same command and target dir as `crates/cli/tests/common`).
pub fn build_guests() -> PathBuf {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("guests"),
        None => repo_root().join("target/guests"),
    }
    .join("threadlink");
    let status = Command::new("cargo")
        .current_dir(repo_root().join("guests/threadlink"))
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_MAKEFLAGS")
        .args([
            "+nightly",
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .expect("running cargo +nightly to build guests/threadlink");
    assert!(status.success(), "building guests/threadlink failed");
    target_dir.join("wasm32-unknown-unknown/release")
}
