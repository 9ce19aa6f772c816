//! `wasmgrind analyze` and `wasmgrind convert` on small hand-written traces, running the
//! real binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

/// The SHB paper's trace: two HB races, the second one not real.
const SHB_TRACE: &str = "T1|w(x)|1\nT1|w(y)|2\nT2|r(y)|3\nT2|r(x)|4\n";
/// Properly locked accesses: no race.
const CLEAN_TRACE: &str =
    "T0|fork(T1)|1\nT0|acq(L)|2\nT0|w(x)|3\nT0|rel(L)|4\nT1|acq(L)|5\nT1|r(x)|6\nT1|rel(L)|7\n";

fn wasmgrind() -> Command {
    Command::cargo_bin("wasmgrind").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn analyze_text_default_engine_exits_66_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", SHB_TRACE);
    wasmgrind()
        .arg("analyze")
        .arg(&trace)
        .assert()
        .code(66)
        .stdout(predicate::str::contains("engine: fasttrack"))
        .stdout(predicate::str::contains(
            "racy events: 2\nracy locations: 2\n",
        ))
        .stdout(predicate::str::contains(
            "races with earlier write by thread 0 (T1) at location 2",
        ));
}

#[test]
fn analyze_engines_differ_as_the_papers_say() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", SHB_TRACE);
    for (engine, events) in [("hb", 2), ("shb", 1), ("syncp", 1), ("wcp", 2)] {
        wasmgrind()
            .args(["analyze", "--engine", engine])
            .arg(&trace)
            .assert()
            .code(66)
            .stdout(predicate::str::contains(format!("racy events: {events}\n")));
    }
}

#[test]
fn analyze_json_has_stable_fields() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", SHB_TRACE);
    wasmgrind()
        .args(["analyze", "--engine", "shb", "--format", "json"])
        .arg(&trace)
        .assert()
        .code(66)
        .stdout(predicate::str::contains("\"engine\": \"shb\""))
        .stdout(predicate::str::contains("\"events\": 4"))
        .stdout(predicate::str::contains("\"racy_events\": 1"))
        .stdout(predicate::str::contains("\"racy_locations\": 1"))
        .stdout(predicate::str::contains("\"races\": ["));
}

#[test]
fn analyze_clean_trace_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", CLEAN_TRACE);
    for engine in [
        "hb",
        "fasttrack",
        "shb",
        "wcp",
        "syncp",
        "lockset",
        "deadlock",
    ] {
        wasmgrind()
            .args(["analyze", "--engine", engine])
            .arg(&trace)
            .assert()
            .success()
            .stdout(predicate::str::contains("racy events: 0"));
    }
}

#[test]
fn analyze_uses_metadata_default_and_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", SHB_TRACE);
    let meta = r#"{"locations": {"2": {"function": 31, "offset": 4242}}}"#;
    write(dir.path(), "t.std.meta.json", meta);
    wasmgrind()
        .arg("analyze")
        .arg(&trace)
        .assert()
        .code(66)
        .stdout(predicate::str::contains("(function 31, offset 0x1092)"));
    let other = write(
        dir.path(),
        "other.json",
        r#"{"locations": {"2": {"function": 7, "offset": 16}}}"#,
    );
    wasmgrind()
        .arg("analyze")
        .arg(&trace)
        .arg("--metadata")
        .arg(&other)
        .assert()
        .code(66)
        .stdout(predicate::str::contains("(function 7, offset 0x10)"));
    let bad = write(dir.path(), "bad.json", "{");
    wasmgrind()
        .arg("analyze")
        .arg(&trace)
        .arg("--metadata")
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.json"));
}

#[test]
fn analyze_reports_bad_lines_and_unknown_engines() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.std", "T0|w(x)|1\nT0|jump(x)|2\n");
    wasmgrind()
        .arg("analyze")
        .arg(&trace)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("line 2"));
    wasmgrind()
        .args(["analyze", "--engine", "tsan"])
        .arg(&trace)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tsan"));
    wasmgrind()
        .arg("analyze")
        .arg(dir.path().join("missing.std"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.std"));
}

#[test]
fn analyze_deadlock_prints_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(
        dir.path(),
        "t.std",
        "T1|acq(A)|10\nT1|acq(B)|11\nT1|rel(B)|12\nT1|rel(A)|13\n\
         T2|acq(B)|20\nT2|acq(A)|21\nT2|rel(A)|22\nT2|rel(B)|23\n",
    );
    wasmgrind()
        .args(["analyze", "--engine", "deadlock"])
        .arg(&trace)
        .assert()
        .code(66)
        .stdout(predicate::str::contains("potential deadlock #1"))
        .stdout(predicate::str::contains("potential deadlocks: 1"));
}

#[test]
fn convert_round_trip_and_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let std_in = write(dir.path(), "t.std", SHB_TRACE);
    let bin = dir.path().join("t.rapidbin");
    wasmgrind()
        .arg("convert")
        .arg(&std_in)
        .arg("-o")
        .arg(&bin)
        .assert()
        .success();
    // Same verdict from RapidBin, names kept through the side file.
    wasmgrind()
        .args(["analyze", "--engine", "hb"])
        .arg(&bin)
        .assert()
        .code(66)
        .stdout(predicate::str::contains(
            "racy events: 2\nracy locations: 2\n",
        ))
        .stdout(predicate::str::contains("(T2)"));
    let back = dir.path().join("back.out");
    wasmgrind()
        .arg("convert")
        .arg(&bin)
        .args(["--to", "std", "-o"])
        .arg(&back)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), SHB_TRACE);
    let json = dir.path().join("t.json");
    wasmgrind()
        .arg("convert")
        .arg(&bin)
        .arg("-o")
        .arg(&json)
        .assert()
        .success();
    let timeline = std::fs::read_to_string(&json).unwrap();
    assert!(timeline.contains("\"traceEvents\""));
    assert_eq!(
        timeline.matches("\"ph\":\"s\"").count(),
        2,
        "one arrow per race"
    );
    wasmgrind()
        .arg("convert")
        .arg(&std_in)
        .arg("-o")
        .arg(dir.path().join("t.unknown"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--to"));
}
