//! End-to-end tests of the wasm_threadlink ABI: `wasmgrind run --invoke run <guest>` on the
//! guests in `guests/threadlink` (threadified by the runtime on the fly), checking the
//! invoked export's printed result and the exit status.
//!
//! Expected values are recomputed here from each guest's documented formula.

mod common;

use common::{threadlink_guest, wasmgrind};

/// Runs `guest`'s `run` export and returns its trimmed stdout, asserting success.
fn run_ok(guest: &str) -> String {
    let output = wasmgrind()
        .arg("run")
        .args(["--invoke", "run"])
        .arg(threadlink_guest(guest))
        .output()
        .expect("running wasmgrind");
    assert!(
        output.status.success(),
        "{guest} failed: {}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    printed_value(&output.stdout)
}

/// The value line `--invoke` prints (the last stdout line).
fn printed_value(stdout: &[u8]) -> String {
    String::from_utf8_lossy(stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn thread_locals_are_per_thread() {
    // guests/threadlink/programs/tls_counters: main bumps by 1000, thread i by i + 1.
    const THREADS: i64 = 4;
    const ROUNDS: i64 = 10_000;
    const INIT: i64 = 7;
    let expected =
        (INIT + 1000 * ROUNDS) + (0..THREADS).map(|i| INIT + (i + 1) * ROUNDS).sum::<i64>();
    assert_eq!(run_ok("tls_counters"), expected.to_string());
}

#[test]
fn threads_recurse_on_their_own_stacks() {
    // guests/threadlink/programs/deep_recursion: Σ_seed Σ_{d<DEPTH} (seed + 97·d).
    const DEPTH: i64 = 2000;
    let seeds = [0x1000_0000i64, 0x2000_0000];
    let expected: i64 = seeds
        .iter()
        .map(|seed| (0..DEPTH).map(|d| seed + 97 * d).sum::<i64>())
        .sum();
    assert_eq!(run_ok("deep_recursion"), expected.to_string());
}

#[test]
fn spawn_join_returns_typed_results() {
    // guests/threadlink/programs/spawn_join.
    let squares: i64 = (0..5).map(|i| i * i).sum();
    let text = "threadlink".repeat(3).len() as i64;
    let numbers: i64 = (1..=100).sum();
    assert_eq!(run_ok("spawn_join"), (squares + text + numbers).to_string());
}

#[test]
fn tracing_mutex_loses_no_update() {
    // guests/threadlink/programs/mutex_counter: 4 threads × 1000 locked increments.
    assert_eq!(run_ok("mutex_counter"), (4 * 1000).to_string());
}

#[test]
fn joining_an_unknown_thread_reports_thread_not_found() {
    let expected = wasm_threadlink_errors::ErrorCode::ThreadNotFound.code();
    assert_eq!(run_ok("join_unknown"), expected.to_string());
}

#[test]
fn joining_a_trapped_thread_reports_join_failure() {
    let expected = wasm_threadlink_errors::ErrorCode::JoinFailure.code();
    assert_eq!(run_ok("join_trapped"), expected.to_string());
}

#[test]
fn guest_panic_stops_the_program_with_the_code_description() {
    let code = wasm_threadlink_errors::ErrorCode::OutOfBoundsMemoryAccess;
    let output = wasmgrind()
        .arg("run")
        .args(["--invoke", "run"])
        .arg(threadlink_guest("guest_panic"))
        .output()
        .expect("running wasmgrind");
    assert!(!output.status.success(), "panic(4) must exit non-zero");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(code.description()),
        "stderr should describe error code {}: {stderr}",
        code.code()
    );
}

#[test]
fn already_threadified_modules_run_unchanged() {
    let original = std::fs::read(threadlink_guest("spawn_join")).unwrap();
    let patched = wasmgrind_threadify::threadify(&original).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spawn_join.threadified.wasm");
    std::fs::write(&path, patched).unwrap();
    let output = wasmgrind()
        .args(["run", "--invoke", "run"])
        .arg(&path)
        .output()
        .expect("running wasmgrind");
    assert!(
        output.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(printed_value(&output.stdout), run_ok("spawn_join"));
}

/// `--invoke` after the module is the program's argument (everything after the module
/// is); the error says where the flag goes.
#[test]
fn invoke_after_the_module_is_explained() {
    let output = wasmgrind()
        .arg("run")
        .arg(threadlink_guest("spawn_join"))
        .args(["--invoke", "run"])
        .output()
        .expect("running wasmgrind");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`--invoke` goes before the module"),
        "{stderr}"
    );
}
