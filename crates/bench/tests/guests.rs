//! The benchmark guests build, run to completion under `plain-wasmtime` at a small
//! scale, and reject a malformed scale. (Builds `guests/wasi` for wasm32-wasip1-threads,
//! as the CLI tests do.)

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use wasmgrind_bench::tools;
use wasmgrind_bench::workloads::{CHECK_WORKLOADS, COMPUTE};

fn run_guest(name: &str, arg: &str) -> Output {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| tools::build_wasi_guests().expect("building the wasi guests"));
    let module = tools::guest(dir, name).unwrap();
    Command::new(env!("CARGO_BIN_EXE_plain-wasmtime"))
        .arg(module)
        .arg(arg)
        .output()
        .unwrap()
}

#[test]
fn every_workload_runs_at_a_small_scale() {
    for w in CHECK_WORKLOADS.iter().chain([&COMPUTE]) {
        let out = run_guest(w.guest, "50");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}: {out:?}", w.guest);
        assert!(stdout.contains("checksum "), "{}: {stdout}", w.guest);
    }
}

#[test]
fn atomics_workload_counts_every_increment() {
    // 4 threads × 1000 fetch_adds: any lost update would show.
    let out = run_guest("bench_atomics", "1000");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("total 4000 "), "{stdout}");
}

#[test]
fn malformed_scale_is_rejected() {
    for w in CHECK_WORKLOADS {
        let out = run_guest(w.guest, "lots");
        assert_eq!(out.status.code(), Some(2), "{}: {out:?}", w.guest);
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a number"));
    }
}
