//! The suites' measuring logic, driven with stand-in shell scripts instead of wasmtime:
//! interleaving and run counts, the output comparison, and how `check` findings or
//! failures become failed rows rather than aborting the suite.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use wasmgrind_bench::compile_cache::CompileCache;
use wasmgrind_bench::suites::{check_overhead, run_overhead, tsan_reference, Row};
use wasmgrind_bench::workloads::{CHECK_WORKLOADS, COMPUTE};
use wasmgrind_bench::BenchError;

/// Writes an executable shell script; every call appends its arguments to `log`.
/// Runs the tests of this file one at a time: a script written by one test while
/// another test forks a child can make exec fail with ETXTBSY ("text file busy").
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let log = dir.join("calls.log");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn run_overhead_interleaves_and_counts() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // plain gets `GUEST SCALE`, wasmgrind gets `run GUEST SCALE`: both echo the scale.
    let plain = script(dir.path(), "plain", "echo \"checksum $2\"");
    let wasmgrind = script(dir.path(), "wasmgrind", "echo \"checksum $3\"");
    let guest = dir.path().join("g.wasm");
    let mut lines = 0;
    let report = run_overhead::measure(
        &run_overhead::Config {
            plain: &plain,
            wasmgrind: &wasmgrind,
            guest: &guest,
            workload: COMPUTE,
            runs: 3,
            cache: &CompileCache::warm().unwrap(),
        },
        &mut |_| lines += 1,
    )
    .unwrap();
    assert_eq!((report.plain.len(), report.run.len()), (3, 3));
    assert_eq!(lines, 1 + 6, "a progress line per run plus the warm-up");
    let order: Vec<String> = calls(dir.path())
        .iter()
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect();
    // Warm-ups, then rounds whose order flips: P R | P R | R P | P R.
    assert_eq!(
        order,
        [
            "plain",
            "wasmgrind",
            "plain",
            "wasmgrind",
            "wasmgrind",
            "plain",
            "plain",
            "wasmgrind"
        ]
    );
    let scale = COMPUTE.scale.to_string();
    assert!(calls(dir.path())[1].ends_with(&format!("run {} {scale}", guest.display())));
    assert!(report.time_ratio().is_some());
}

/// One run-overhead round with stand-in sides running these shell bodies; its error.
fn run_overhead_error(plain_body: &str, wasmgrind_body: &str) -> BenchError {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let plain = script(dir.path(), "plain", plain_body);
    let wasmgrind = script(dir.path(), "wasmgrind", wasmgrind_body);
    run_overhead::measure(
        &run_overhead::Config {
            plain: &plain,
            wasmgrind: &wasmgrind,
            guest: Path::new("g.wasm"),
            workload: COMPUTE,
            runs: 1,
            cache: &CompileCache::warm().unwrap(),
        },
        &mut |_| {},
    )
    .unwrap_err()
}

#[test]
fn run_overhead_rejects_differing_outputs() {
    let err = run_overhead_error("echo one", "echo two");
    assert!(matches!(err, BenchError::OutputMismatch { .. }), "{err}");
}

#[test]
fn run_overhead_stops_on_a_failing_side() {
    let err = run_overhead_error("echo ok", "echo trapped >&2; exit 134");
    assert!(err.to_string().contains("trapped"), "{err}");
}

/// A stand-in wasmgrind: `run` prints a checksum; `check` does what `check_body` says.
fn fake_wasmgrind(dir: &Path, check_body: &str) -> PathBuf {
    script(
        dir,
        "wasmgrind",
        &format!("case \"$1\" in run) echo \"checksum $3\";; check) {check_body};; esac"),
    )
}

/// The check-overhead suite's report over the first two workloads (modules in `dir`),
/// with `cache`.
fn check_report(
    wasmgrind: &Path,
    dir: &Path,
    runs: usize,
    budget: f64,
    cache: &CompileCache,
) -> check_overhead::Report {
    let config = check_overhead::Config {
        wasmgrind,
        workloads: CHECK_WORKLOADS[..2]
            .iter()
            .map(|w| (*w, dir.join(format!("{}.wasm", w.guest))))
            .collect(),
        runs,
        check_budget_seconds: budget,
        cache,
    };
    check_overhead::measure_all(&config, &mut |_| {})
}

#[test]
fn check_overhead_measures_each_workload() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let wasmgrind = fake_wasmgrind(dir.path(), "echo \"checksum $3\"");
    let report = check_report(
        &wasmgrind,
        dir.path(),
        3,
        1e9,
        &CompileCache::warm().unwrap(),
    );
    assert_eq!(report.rows.len(), 2);
    for row in &report.rows {
        match row {
            Row::Measured {
                base: run,
                subject: check,
                ..
            } => {
                assert_eq!((run.len(), check.len()), (3, 3));
            }
            other => panic!("not measured: {other:?}"),
        }
    }
    // Per workload: a warm-up run and a warm-up check, then 3 runs and 3 checks.
    let log = calls(dir.path());
    assert_eq!(log.len(), 2 * 8);
    assert_eq!(
        log.iter()
            .filter(|c| c.starts_with("wasmgrind check"))
            .count(),
        2 * 4
    );
    assert!(report.geomeans().is_some());
}

#[test]
fn check_findings_make_a_failed_row() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let wasmgrind = fake_wasmgrind(
        dir.path(),
        "echo 'WARNING: wasmgrind: data race' >&2; exit 66",
    );
    let report = check_report(
        &wasmgrind,
        dir.path(),
        3,
        1e9,
        &CompileCache::warm().unwrap(),
    );
    for row in &report.rows {
        match row {
            Row::Failed { reason, .. } => {
                assert!(
                    reason.contains("exit status 66") && reason.contains("data race"),
                    "{reason}"
                );
            }
            other => panic!("not failed: {other:?}"),
        }
    }
    assert!(report.render().contains("FAILED"));
}

#[test]
fn check_output_must_match_run() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let wasmgrind = fake_wasmgrind(dir.path(), "echo wrong");
    let report = check_report(
        &wasmgrind,
        dir.path(),
        1,
        1e9,
        &CompileCache::warm().unwrap(),
    );
    assert!(matches!(&report.rows[0], Row::Failed { reason, .. } if reason.contains("wrong")));
}

#[test]
fn check_budget_limits_check_rounds_to_one() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let wasmgrind = fake_wasmgrind(dir.path(), "echo \"checksum $3\"");
    // A zero budget is used up by the first round, which always runs.
    let report = check_report(
        &wasmgrind,
        dir.path(),
        5,
        0.0,
        &CompileCache::warm().unwrap(),
    );
    match &report.rows[0] {
        Row::Measured {
            base: run,
            subject: check,
            ..
        } => {
            // `run` still gets all its runs: only `check` is cut short.
            assert_eq!((run.len(), check.len()), (5, 1));
        }
        other => panic!("not measured: {other:?}"),
    }
}

/// The check-overhead suite's calls of a stand-in `wasmgrind` that logs where its
/// compile cache is, with `cache`.
fn check_calls_with(cache: &CompileCache) -> Vec<String> {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // The scale is the last argument, whatever flags come first.
    let wasmgrind = script(
        dir.path(),
        "wasmgrind",
        &format!(
            "echo \"cache=$XDG_CACHE_HOME\" >> '{}'\nfor a; do last=$a; done; echo \"checksum $last\"",
            dir.path().join("calls.log").display()
        ),
    );
    let report = check_report(&wasmgrind, dir.path(), 1, 1e9, cache);
    assert!(
        matches!(report.rows[0], Row::Measured { .. }),
        "{:?}",
        report.rows
    );
    calls(dir.path())
}

#[test]
fn a_warm_cache_is_shared_and_primed_by_a_check_before_the_measured_ones() {
    let warm = CompileCache::warm().unwrap();
    let log = check_calls_with(&warm);
    let caches: std::collections::BTreeSet<&String> =
        log.iter().filter(|l| l.starts_with("cache=")).collect();
    assert_eq!(caches.len(), 1, "one cache for every run: {caches:?}");
    assert_ne!(caches.first().unwrap().as_str(), "cache=");
    let checks: Vec<&String> = log
        .iter()
        .filter(|l| l.starts_with("wasmgrind check"))
        .collect();
    // Per workload: the warm-up at scale 1, then the measured check at its scale.
    assert!(checks[0].ends_with(" 1"), "{checks:?}");
    let scale = CHECK_WORKLOADS[0].scale.to_string();
    assert!(checks[1].ends_with(&scale), "{checks:?}");
}

#[test]
fn a_cold_run_compiles_every_time() {
    let log = check_calls_with(&CompileCache::Cold);
    let runs: Vec<&String> = log.iter().filter(|l| l.starts_with("wasmgrind ")).collect();
    assert!(!runs.is_empty());
    for call in &runs {
        assert!(call.contains(" --no-cache "), "{call}");
    }
    assert_eq!(
        runs.iter()
            .filter(|c| c.starts_with("wasmgrind check"))
            .count(),
        2,
        "no warm-up check, one measured check per workload: {runs:?}"
    );
}

/// Stand-in native workloads in `dir/<side>`: each prints a checksum of its scale
/// (`suffix` appended, to make a side disagree).
fn fake_natives(dir: &Path, side: &str, suffix: &str) -> PathBuf {
    let side_dir = dir.join(side);
    std::fs::create_dir_all(&side_dir).unwrap();
    // Each also logs under its side's name in `dir`, so the interleaving can be read back.
    let log = dir.join("calls.log");
    for w in &CHECK_WORKLOADS[..2] {
        let body = format!(
            "echo \"{side} {} $*\" >> '{}'\necho \"checksum $1{suffix}\"",
            w.guest,
            log.display()
        );
        script(&side_dir, w.guest, &body);
    }
    side_dir
}

/// The suite over stand-ins in `dir` (the TSan side's output gets `tsan_suffix`), on the
/// first `workloads` check workloads with `runs` rounds.
fn tsan_reference_of_fakes(
    dir: &Path,
    tsan_suffix: &str,
    workloads: usize,
    runs: usize,
) -> tsan_reference::Report {
    let plain = fake_natives(dir, "plain", "");
    let tsan = fake_natives(dir, "tsan", tsan_suffix);
    tsan_reference::measure_all(
        &tsan_reference::Config {
            plain: &plain,
            tsan: &tsan,
            workloads: CHECK_WORKLOADS[..workloads].to_vec(),
            runs,
        },
        &mut |_| {},
    )
}

#[test]
fn tsan_reference_alternates_plain_and_tsan_runs() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let report = tsan_reference_of_fakes(dir.path(), "", 2, 2);
    for row in &report.rows {
        match row {
            Row::Measured { base, subject, .. } => assert_eq!((base.len(), subject.len()), (2, 2)),
            other => panic!("not measured: {other:?}"),
        }
    }
    let log = std::fs::read_to_string(dir.path().join("calls.log")).unwrap();
    let sides: Vec<&str> = log.lines().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        sides,
        ["plain", "tsan", "tsan", "plain", "plain", "tsan", "tsan", "plain"],
        "{log}"
    );
    let scale = CHECK_WORKLOADS[0].scale.to_string();
    assert!(
        log.lines()
            .next()
            .unwrap()
            .ends_with(&format!("bench_array {scale}")),
        "{log}"
    );
    assert!(report.render().contains("| bench_locks "));
}

#[test]
fn tsan_reference_rejects_a_side_that_prints_something_else() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let report = tsan_reference_of_fakes(dir.path(), " (different)", 1, 1);
    match &report.rows[..] {
        [Row::Failed { reason, .. }] => assert!(reason.contains("outputs differ"), "{reason}"),
        rows => panic!("expected a failed row: {rows:?}"),
    }
}
