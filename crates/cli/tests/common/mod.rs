//! Shared helpers for the integration tests: building guest programs for wasm and
//! running the real `wasmgrind` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// This package's directory, read when the test runs (cargo sets it), so a test binary
/// that cargo reuses from another checkout sharing the target directory still finds this
/// checkout's files; the compile-time value when run outside cargo.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    manifest_dir().join("../..").canonicalize().unwrap()
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

/// Which thread ABI (and so which guest workspace) a guest belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    Wasi,
    Threadlink,
}

impl Abi {
    /// The guest's source file (where its expectation marks are).
    pub fn source(self, guest: &str) -> PathBuf {
        match self {
            Abi::Wasi => repo_root().join(format!("guests/wasi/src/bin/{guest}.rs")),
            Abi::Threadlink => {
                repo_root().join(format!("guests/threadlink/programs/{guest}/src/lib.rs"))
            }
        }
    }

    /// The built module.
    pub fn module(self, guest: &str) -> PathBuf {
        match self {
            Abi::Wasi => wasi_guest(guest),
            Abi::Threadlink => threadlink_guest(guest),
        }
    }
}

/// Every line of `source` carrying `mark` (e.g. `// RACE:`), as (1-based line, the text
/// after the mark, trimmed), in line order.
pub fn marked_lines(source: &Path, mark: &str) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(source)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let (_, rest) = line.split_once(mark)?;
            Some((i as u64 + 1, rest.trim().to_string()))
        })
        .collect()
}

/// The reports of a `--format json --log-file` run: one JSON object per non-empty line
/// (none if the file is missing).
pub fn json_reports(log: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("report line is not JSON ({e}): {line}"))
        })
        .collect()
}

/// Whether a JSON stack (array of frames) has `line` of a file ending in `suffix`.
pub fn stack_has_line(stack: &serde_json::Value, suffix: &str, line: u64) -> bool {
    stack.as_array().is_some_and(|frames| {
        frames.iter().any(|frame| {
            frame["line"].as_u64() == Some(line)
                && frame["file"]
                    .as_str()
                    .is_some_and(|file| file.replace('\\', "/").ends_with(suffix))
        })
    })
}
