//! `wasmgrind run` on real guests: both thread ABIs, WASI shared by all threads,
//! exits and traps, limits, and clear one-line errors on bad input.

mod common;

use common::{wasi_guest, wasmgrind};
use predicates::prelude::*;

#[test]
fn threads_print_and_join() {
    wasmgrind()
        .arg("run")
        .arg(wasi_guest("hello_threads"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("hello from thread 4")
                .and(predicate::str::contains("sum 100")),
        );
}

#[test]
fn scoped_threads_over_disjoint_chunks() {
    wasmgrind()
        .arg("run")
        .arg(wasi_guest("scope_sum"))
        .assert()
        .success()
        .stdout("total 99990000\n");
}

#[test]
fn std_sync_primitives_work_across_threads() {
    let out = wasmgrind()
        .arg("run")
        .arg(wasi_guest("sync_primitives"))
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for line in [
        "mutex 8000",
        "rwlock true",
        "condvar woken",
        "mpsc 79800",
        "barrier leaders 1",
        "thread_local [1, 2, 3, 4] main 0",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
}

#[test]
fn sixty_four_live_threads() {
    wasmgrind()
        .arg("run")
        .arg(wasi_guest("many_threads"))
        .arg("64")
        .assert()
        .success()
        .stdout("64 threads met, sum 2016\n");
}

#[test]
fn a_thousand_short_lived_threads_release_their_slots() {
    // With at most 2 live threads (main + 1), 1000 sequential threads only fit if
    // every ended thread gives its slot back.
    wasmgrind()
        .args(["run", "--max-threads", "2"])
        .arg(wasi_guest("thousand_threads"))
        .assert()
        .success()
        .stdout("1000 threads done, total 499500\n");
}

#[test]
fn thread_limit_is_a_clear_error() {
    wasmgrind()
        .args(["run", "--max-threads", "8"])
        .arg(wasi_guest("many_threads"))
        .arg("16")
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("--max-threads")
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn files_opened_by_one_thread_are_usable_by_another() {
    let dir = tempfile::tempdir().unwrap();
    wasmgrind()
        .arg("run")
        .arg("--dir")
        .arg(format!("{}::/data", dir.path().display()))
        .arg(wasi_guest("file_io"))
        .arg("/data")
        .assert()
        .success()
        .stdout("read back: written by a child thread\n");
    let written = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert_eq!(written, "written by a child thread\n");
}

#[test]
fn args_and_environment_reach_every_thread() {
    wasmgrind()
        .args(["run", "--env", "GREETING=hi"])
        .arg(wasi_guest("env_args"))
        .args(["one", "--two"])
        .env("HOME", "/home/someone")
        .assert()
        .success()
        .stdout(
            r#"args ["env_args.wasm", "one", "--two"] GREETING=hi HOME=<unset>"#.to_string() + "\n",
        );
    wasmgrind()
        .args(["run", "--inherit-env"])
        .arg(wasi_guest("env_args"))
        .env("HOME", "/home/someone")
        .assert()
        .success()
        .stdout(predicate::str::contains("HOME=/home/someone"));
}

/// Everything after the module is the program's, wasmgrind's own option names
/// included: a cargo runner hands `cargo test -- --format terse` to the harness.
#[test]
fn options_after_the_module_are_the_programs() {
    for command in ["run", "check"] {
        wasmgrind()
            .arg(command)
            .arg(wasi_guest("env_args"))
            .args(["--format", "terse", "--help", "--timeout", "1"])
            .assert()
            .success()
            .stdout(predicate::str::contains(
                r#"args ["env_args.wasm", "--format", "terse", "--help", "--timeout", "1"]"#,
            ));
    }
}

#[test]
fn clocks_sleeps_yield_and_random() {
    wasmgrind()
        .arg("run")
        .arg(wasi_guest("sleep_yield"))
        .assert()
        .success()
        .stdout("slept true\n");
}

#[test]
fn proc_exit_in_a_child_ends_the_program() {
    wasmgrind()
        .arg("run")
        .arg(wasi_guest("child_exit"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(3);
}

#[test]
fn a_panicking_child_traps_with_a_symbolized_backtrace() {
    let out = wasmgrind()
        .arg("run")
        .arg(wasi_guest("child_panic"))
        .assert()
        .code(134);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("child thread gave up"), "{stderr}");
    assert!(stderr.contains("wasmgrind: thread 1 trapped:"), "{stderr}");
    assert!(
        stderr.contains("child_panic::main::{{closure}} at src/bin/child_panic.rs:7"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Stack backtrace"),
        "no host backtrace: {stderr}"
    );
}

#[test]
fn text_modules_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exit7.wat");
    std::fs::write(
        &path,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 7))))"#,
    )
    .unwrap();
    wasmgrind().arg("run").arg(&path).assert().code(7);
}

#[test]
fn invoke_prints_results() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answer.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "answer") (result i32) i32.const 42))"#,
    )
    .unwrap();
    wasmgrind()
        .args(["run", "--invoke", "answer"])
        .arg(&path)
        .assert()
        .success()
        .stdout("42\n");
}

/// Writes `contents` to a file in a fresh temp dir and runs `wasmgrind run` on it.
fn run_file(name: &str, contents: &[u8]) -> assert_cmd::assert::Assert {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    wasmgrind().arg("run").arg(&path).assert()
}

/// The error is one `wasmgrind: error:` line (plus nothing else), exit status 1.
fn one_line_error(assert: assert_cmd::assert::Assert, needle: &str) -> String {
    let out = assert.code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("wasmgrind: error: "), "{stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    stderr
}

#[test]
fn not_wasm_is_a_clear_error() {
    one_line_error(
        run_file("notes.txt", b"hello, I am text"),
        "is not a WebAssembly module",
    );
    one_line_error(
        run_file("binary.bin", &[0xff, 0x00, 0x13, 0x37]),
        "is not a WebAssembly module",
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let stderr = one_line_error(
        wasmgrind()
            .args(["run", "/nonexistent/dir/x.wasm"])
            .assert(),
        "cannot read",
    );
    // The reason once, not again as the error's cause.
    assert_eq!(stderr.matches("(os error 2)").count(), 1, "{stderr}");
}

#[test]
fn truncated_module_is_a_clear_error() {
    let bytes = std::fs::read(wasi_guest("hello_threads")).unwrap();
    one_line_error(
        run_file("cut.wasm", &bytes[..bytes.len() / 2]),
        "invalid WebAssembly module",
    );
}

#[test]
fn unknown_imports_are_named() {
    one_line_error(
        run_file(
            "imports.wat",
            br#"(module (import "env" "mystery" (func)) (func (export "_start")))"#,
        ),
        "`env::mystery` (function)",
    );
}

#[test]
fn wasi_threads_memory_must_be_shared_and_imported() {
    one_line_error(
        run_file(
            "unshared.wat",
            br#"(module (import "env" "memory" (memory 1 1))
                 (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (func (export "wasi_thread_start") (param i32 i32))
                 (func (export "_start")))"#,
        ),
        "not shared",
    );
    one_line_error(
        run_file(
            "defined.wat",
            br#"(module (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (memory 1 1 shared)
                 (func (export "wasi_thread_start") (param i32 i32))
                 (func (export "_start")))"#,
        ),
        "not imported",
    );
}

#[test]
fn threadlink_requirements_are_named() {
    one_line_error(
        run_file(
            "no_start.wat",
            br#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasm_threadlink" "thread_join" (func (param i32) (result i32)))
                 (func (export "run")))"#,
        ),
        "thread_start",
    );
    one_line_error(
        run_file(
            "no_alloc.wat",
            br#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasm_threadlink" "thread_join" (func (param i32) (result i32)))
                 (func (export "thread_start") (param i32))
                 (func (export "run")))"#,
        ),
        "__wasmgrind_malloc",
    );
}

#[test]
fn missing_entry_point_is_named() {
    one_line_error(
        run_file("lib.wat", br#"(module (func (export "other")))"#),
        "no export `_start`",
    );
}

#[test]
fn deadlock_detection_can_be_switched_off() {
    // Without detection the deadlocked guest just hangs until --timeout ends it (124)
    // instead of being stopped as a deadlock (123).
    wasmgrind()
        .args(["run", "--timeout", "1"])
        .arg(wasi_guest("deadlock_two_mutexes"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(123);
    wasmgrind()
        .args(["run", "--no-deadlock-detection", "--timeout", "1"])
        .arg(wasi_guest("deadlock_two_mutexes"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(124);
}
