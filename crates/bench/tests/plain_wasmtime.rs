//! `plain-wasmtime` behaves like wasmtime's CLI on wasi-threads modules: it passes argv,
//! links `wasi::thread-spawn` with a shared memory, and exits with the program's status
//! (134 after a trap).

use std::path::PathBuf;
use std::process::{Command, Output};

fn plain_wasmtime(wat: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let module: PathBuf = dir.path().join("m.wat");
    std::fs::write(&module, wat).unwrap();
    Command::new(env!("CARGO_BIN_EXE_plain-wasmtime"))
        .arg(&module)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn exit_status_is_the_programs() {
    let out = plain_wasmtime(
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") (call $exit (i32.const 7))))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(7), "{out:?}");
}

#[test]
fn returning_from_start_is_success() {
    let out = plain_wasmtime(
        r#"(module (memory (export "memory") 1) (func (export "_start")))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn trap_exits_like_abort() {
    let out = plain_wasmtime(
        r#"(module (memory (export "memory") 1) (func (export "_start") unreachable))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(134), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unreachable"),
        "{out:?}"
    );
}

#[test]
fn argv_has_the_module_name_then_the_arguments() {
    // Exits with argc: argv[0] (the module's file name) plus the three arguments.
    let out = plain_wasmtime(
        r#"(module
            (import "wasi_snapshot_preview1" "args_sizes_get"
                (func $sizes (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start")
                (drop (call $sizes (i32.const 0) (i32.const 4)))
                (call $exit (i32.load (i32.const 0)))))"#,
        &["a", "b", "c"],
    );
    assert_eq!(out.status.code(), Some(4), "{out:?}");
}

#[test]
fn spawned_thread_shares_memory() {
    // The child stores its start argument (42) and notifies; main waits for it and exits
    // with it: only a working thread-spawn on a shared memory gives 42.
    let out = plain_wasmtime(
        r#"(module
            (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (import "env" "memory" (memory 1 1 shared))
            (export "memory" (memory 0))
            (func (export "wasi_thread_start") (param $tid i32) (param $arg i32)
                (i32.atomic.store (i32.const 0) (local.get $arg))
                (drop (memory.atomic.notify (i32.const 0) (i32.const 1))))
            (func (export "_start")
                (if (i32.lt_s (call $spawn (i32.const 42)) (i32.const 1))
                    (then (call $exit (i32.const 99))))
                (block $done
                    (loop $wait
                        (br_if $done (i32.atomic.load (i32.const 0)))
                        (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))
                        (br $wait)))
                (call $exit (i32.atomic.load (i32.const 0)))))"#,
        &[],
    );
    assert_eq!(out.status.code(), Some(42), "{out:?}");
}

#[test]
fn missing_module_is_an_error_not_a_panic() {
    let out = Command::new(env!("CARGO_BIN_EXE_plain-wasmtime"))
        .arg("/nonexistent/m.wasm")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/m.wasm"));
}

#[test]
fn no_module_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_plain-wasmtime"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
