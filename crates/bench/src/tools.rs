//! Locating and building what the benchmarks run: the wasi guests (built the way the CLI
//! tests build them), the release `wasmgrind` binary, and `plain-wasmtime`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::BenchError;

/// Root of the repository (this crate lives in `crates/bench`): where cargo says the
/// crate is when it runs us (`cargo run`, `cargo test`), else where it was built — a
/// build cache shared between checkouts may hold a binary built in another one.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..")
}

/// The cargo target directory: `$CARGO_TARGET_DIR`, else `<repo>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
}

/// A `cargo` command with the caller's toolchain and flag overrides removed, so a build
/// started from inside `cargo run` behaves like one started from a shell.
fn clean_cargo() -> Command {
    let mut cmd = Command::new("cargo");
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "RUSTC_WRAPPER",
        "CARGO_MAKEFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs a build command, its output going to our stderr.
fn run_build(mut cmd: Command, what: &str) -> Result<(), BenchError> {
    let command = crate::measure::describe(&cmd);
    let status = cmd
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|source| BenchError::Spawn {
            program: command.clone(),
            source,
        })?;
    if !status.success() {
        return Err(BenchError::Build {
            what: what.to_string(),
            status: status.to_string(),
            command,
        });
    }
    Ok(())
}

/// Builds the `guests/wasi` workspace (stable, `wasm32-wasip1-threads`, release) into
/// `<target>/guests/wasi`, as `crates/cli/tests/common/mod.rs` does; returns the
/// directory holding the `.wasm` files.
pub fn build_wasi_guests() -> Result<PathBuf, BenchError> {
    let target = "wasm32-wasip1-threads";
    let (cmd, out) = guests_build("stable", target, "wasi");
    run_build(cmd, "the wasi guests")?;
    Ok(out)
}

/// `cargo +<toolchain> build --release` of the `guests/wasi` workspace for `target` into
/// `<target dir>/guests/<dir>`, and the directory its binaries land in.
fn guests_build(toolchain: &str, target: &str, dir: &str) -> (Command, PathBuf) {
    let target_dir = target_dir().join("guests").join(dir);
    let mut cmd = clean_cargo();
    cmd.current_dir(repo_root().join("guests/wasi"))
        .arg(format!("+{toolchain}"))
        .args(["build", "--quiet", "--release", "--target", target])
        .arg("--target-dir")
        .arg(&target_dir);
    (cmd, target_dir.join(target).join("release"))
}

/// How a native build of the workloads is instrumented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// A plain build.
    Plain,
    /// Built with `-Zsanitizer=thread`, std included (`-Zbuild-std`).
    Tsan,
}

/// The host's target triple, as `rustc +nightly -vV` reports it.
fn host_triple() -> Result<String, BenchError> {
    let mut rustc = Command::new("rustc");
    rustc
        .args(["+nightly", "-vV"])
        .env_remove("RUSTUP_TOOLCHAIN");
    let command = crate::measure::describe(&rustc);
    let out = rustc.output().map_err(|source| BenchError::Spawn {
        program: command.clone(),
        source,
    })?;
    parse_host(&String::from_utf8_lossy(&out.stdout)).ok_or(BenchError::Build {
        what: "the host triple".into(),
        status: out.status.to_string(),
        command,
    })
}

/// The `host:` line of `rustc -vV` output.
fn parse_host(verbose_version: &str) -> Option<String> {
    verbose_version
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
}

/// Builds the `workloads` of `guests/wasi` natively (nightly, the guests' release
/// profile) into `<target>/guests/native-plain` or `native-tsan`; returns the directory
/// holding the binaries. Needs the nightly toolchain, and for [`Native::Tsan`] its
/// `rust-src` component.
pub fn build_native_guests(kind: Native, workloads: &[&str]) -> Result<PathBuf, BenchError> {
    let host = host_triple()?;
    let name = match kind {
        Native::Plain => "native-plain",
        Native::Tsan => "native-tsan",
    };
    let (mut cmd, out) = guests_build("nightly", &host, name);
    for w in workloads {
        cmd.args(["--bin", w]);
    }
    if kind == Native::Tsan {
        cmd.arg("-Zbuild-std")
            .env("RUSTFLAGS", "-Zsanitizer=thread");
    }
    run_build(cmd, &format!("the {name} workloads"))?;
    Ok(out)
}

/// Path of one built guest in `dir`, checked to exist.
pub fn guest(dir: &Path, name: &str) -> Result<PathBuf, BenchError> {
    existing(dir.join(format!("{name}.wasm")), &format!("guest `{name}`"))
}

/// The release `wasmgrind` binary: `explicit` if given; otherwise
/// `<target>/release/wasmgrind`, first brought up to date with
/// `cargo build --release -p wasmgrind` unless `build` is false. When that build fails
/// (e.g. a teammate's half-done edit) but an older binary exists, it is used with a
/// warning.
pub fn wasmgrind_binary(explicit: Option<&Path>, build: bool) -> Result<PathBuf, BenchError> {
    if let Some(path) = explicit {
        return existing(path.to_path_buf(), "the given wasmgrind binary");
    }
    let path = target_dir().join("release").join("wasmgrind");
    if build {
        let mut cmd = clean_cargo();
        cmd.current_dir(repo_root())
            .args(["build", "--quiet", "--release", "-p", "wasmgrind"]);
        if let Err(err) = run_build(cmd, "wasmgrind") {
            if !path.exists() {
                return Err(err);
            }
            eprintln!("warning: {err}; using the existing {}", path.display());
        }
    }
    existing(path, "the wasmgrind binary")
}

/// The `plain-wasmtime` binary built beside the running harness (same package, same
/// profile, so `cargo run -p wasmgrind-bench` has already built it).
pub fn plain_wasmtime_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(|source| BenchError::Spawn {
        program: "current executable".into(),
        source,
    })?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    existing(
        dir.join("plain-wasmtime"),
        "plain-wasmtime (build the whole package)",
    )
}

/// Whether this wasmgrind has a working `check` subcommand (`check --help` succeeds).
pub fn has_check(wasmgrind: &Path) -> bool {
    Command::new(wasmgrind)
        .args(["check", "--help"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn existing(path: PathBuf, what: &str) -> Result<PathBuf, BenchError> {
    if path.exists() {
        Ok(path)
    } else {
        Err(BenchError::Missing {
            what: what.to_string(),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_root_holds_the_workspace() {
        assert!(repo_root().join("Cargo.toml").exists());
        assert!(repo_root().join("guests/wasi/Cargo.toml").exists());
    }

    #[test]
    fn missing_guest_is_reported_with_its_path() {
        let err = guest(Path::new("/nonexistent"), "nope").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/nope.wasm"), "{text}");
    }

    #[test]
    fn check_probe_is_false_for_a_program_without_it() {
        assert!(!has_check(Path::new("/bin/false")));
        assert!(!has_check(Path::new("/nonexistent/wasmgrind")));
        // `true` accepts anything: the probe only looks at the exit status.
        assert!(has_check(Path::new("/bin/true")));
    }

    #[test]
    fn the_host_triple_is_read_from_rustc_verbose_output() {
        let out = "rustc 1.93.0-nightly (abc 2025-11-01)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.93.0-nightly\n";
        assert_eq!(parse_host(out).as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(parse_host("binary: rustc\n"), None);
    }
}
