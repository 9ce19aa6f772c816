//! `wasmgrind check`'s reporting flags on a real racy guest: exit status,
//! --error-exitcode, --halt-on-error, --suppressions, --format json and --log-file.

mod common;

use common::{wasi_guest, wasmgrind};
use predicates::prelude::*;

const RACY: &str = "racy_loop_four_threads";

fn json_reports(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn findings_set_the_exit_status_and_can_be_renamed() {
    wasmgrind()
        .arg("check")
        .arg(wasi_guest(RACY))
        .assert()
        .code(66)
        .stderr(
            predicate::str::contains("WARNING: wasmgrind: data race")
                .and(predicate::str::contains("SUMMARY:")),
        );
    wasmgrind()
        .args(["check", "--error-exitcode", "9"])
        .arg(wasi_guest(RACY))
        .assert()
        .code(9);
}

#[test]
fn a_clean_program_keeps_its_own_status() {
    wasmgrind()
        .arg("check")
        .arg(wasi_guest("safe_mutex"))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("wasmgrind: no findings"));
}

#[test]
fn json_goes_to_the_log_file_and_the_program_output_stays_intact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("reports.jsonl");
    let out = wasmgrind()
        .args(["check", "--format", "json", "--log-file"])
        .arg(&log)
        .arg(wasi_guest(RACY))
        .assert()
        .code(66);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        !stderr.contains("data race"),
        "reports belong in the log file: {stderr}"
    );
    let reports = json_reports(&log);
    assert!(!reports.is_empty());
    for report in &reports {
        assert_eq!(report["kind"], "data_race");
        assert!(report["current"]["stack"]
            .as_array()
            .is_some_and(|s| !s.is_empty()));
        assert!(report["previous"]["thread"].is_u64());
    }
}

#[test]
fn halt_on_error_stops_at_the_first_report() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.jsonl");
    let first = dir.path().join("first.jsonl");
    for (log, extra) in [(&all, None), (&first, Some("--halt-on-error"))] {
        let mut cmd = wasmgrind();
        cmd.args(["check", "--format", "json", "--log-file"])
            .arg(log);
        cmd.args(extra);
        cmd.arg(wasi_guest("racy_struct_field")).assert().code(66);
    }
    assert_eq!(json_reports(&first).len(), 1, "halted after one report");
    assert!(json_reports(&all).len() >= json_reports(&first).len());
}

#[test]
fn suppressions_hide_matching_reports() {
    let dir = tempfile::tempdir().unwrap();
    let supp = dir.path().join("wasmgrind.supp");
    std::fs::write(&supp, format!("# the known race\nsrc:*src/bin/{RACY}.rs\n")).unwrap();
    wasmgrind()
        .args(["check", "--suppressions"])
        .arg(&supp)
        .arg(wasi_guest(RACY))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("no findings"));
}

#[test]
fn a_bad_suppressions_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let supp = dir.path().join("bad.supp");
    std::fs::write(&supp, "race:ok_pattern\nnonsense line\n").unwrap();
    let out = wasmgrind()
        .args(["check", "--suppressions"])
        .arg(&supp)
        .arg(wasi_guest(RACY))
        .assert()
        .code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.starts_with("wasmgrind: error:"), "{stderr}");
    assert!(
        stderr.contains("bad.supp") && stderr.contains('2'),
        "names file and line: {stderr}"
    );
}
