//! Shared helpers for the integration tests: building guest programs for wasm and
//! running the real `wasmgrind` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Where guest builds go: beside the host build, so CI's cached target dir is reused.
fn guest_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("guests"),
        None => repo_root().join("target/guests"),
    }
}

/// Builds a guest workspace once per test binary and returns its wasm output directory.
fn build_guests(workspace: &str, toolchain: &str, target: &str, extra: &[&str]) -> PathBuf {
    let dir = repo_root().join("guests").join(workspace);
    let target_dir = guest_target_dir().join(workspace);
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_MAKEFLAGS")
        .arg(format!("+{toolchain}"))
        .args(["build", "--release", "--target", target])
        .args(extra)
        .arg("--target-dir")
        .arg(&target_dir);
    let status = cmd.status().expect("running cargo to build guests");
    assert!(
        status.success(),
        "building guests in {} failed",
        dir.display()
    );
    target_dir.join(target).join("release")
}

/// Path of a wasi-threads guest (a binary of the `guests/wasi` workspace).
pub fn wasi_guest(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| build_guests("wasi", "stable", "wasm32-wasip1-threads", &[]));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "no guest {}", path.display());
    path
}

/// Path of a wasm_threadlink guest (built by the `guests/threadlink` workspace with nightly
/// `-Z build-std`, flags from its `.cargo/config.toml`).
pub fn threadlink_guest(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir =
        DIR.get_or_init(|| build_guests("threadlink", "nightly", "wasm32-unknown-unknown", &[]));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.exists(), "no guest {}", path.display());
    path
}

/// A command running the real `wasmgrind` binary.
pub fn wasmgrind() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("wasmgrind").unwrap()
}
