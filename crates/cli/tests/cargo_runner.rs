//! `wasmgrind check` as a cargo target runner: `cargo test --target
//! wasm32-wasip1-threads` of `examples/cargo-runner` runs every test binary under
//! detection; the harness output is intact and the run fails because of the race.

mod common;

use std::process::Command;

use common::repo_root;

/// `cargo test --target wasm32-wasip1-threads [-- harness_args]` of the example, with
/// `wasmgrind check` as the runner.
fn cargo_test(harness_args: &[&str]) -> std::process::Output {
    let wasmgrind = assert_cmd::cargo::cargo_bin("wasmgrind");
    let example = repo_root().join("examples/cargo-runner");
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => std::path::PathBuf::from(dir).join("examples"),
        None => repo_root().join("target/examples"),
    };
    Command::new("cargo")
        .current_dir(&example)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_MAKEFLAGS")
        .env(
            "CARGO_TARGET_WASM32_WASIP1_THREADS_RUNNER",
            format!("{} check", wasmgrind.display()),
        )
        .args([
            "+stable",
            "test",
            "--target",
            "wasm32-wasip1-threads",
            "--target-dir",
        ])
        .arg(&target_dir)
        .arg("--")
        .args(harness_args)
        .output()
        .unwrap()
}

#[test]
fn cargo_test_runs_under_check_and_fails_on_the_race() {
    let out = cargo_test(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The harness ran all three tests and they passed natively...
    assert!(
        stdout.contains("test racy_counter_runs ... ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("test result: ok. 3 passed"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // ...but the race was reported at its source line and the run failed.
    assert!(
        stderr.contains("WARNING: wasmgrind: data race"),
        "stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("cargo_runner_demo::racy_count"),
        "stderr:\n{stderr}"
    );
    assert!(stderr.contains("src/lib.rs:"), "stderr:\n{stderr}");
    assert!(
        !out.status.success(),
        "cargo test must fail when a race is found"
    );
    assert!(
        !stderr.contains("locked_count"),
        "no report on the correct counters:\n{stderr}"
    );
}

/// Flags after `cargo test --` reach the test harness, even those named like
/// wasmgrind's own (`--format`): the runner puts them after the module.
#[test]
fn harness_flags_reach_the_harness() {
    let out = cargo_test(&["--format", "terse", "--test-threads", "1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Terse: a dot per test instead of a line per test.
    assert!(
        stdout.contains("test result: ok. 3 passed")
            && !stdout.contains("test racy_counter_runs ... ok"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("WARNING: wasmgrind: data race"),
        "stderr:\n{stderr}"
    );
}
