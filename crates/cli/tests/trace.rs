//! `wasmgrind trace` on real guests: the recorded traces read back with the trace
//! crate's readers, analyze offline to the expected verdicts, and survive traps and
//! Ctrl-C.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{repo_root, threadlink_guest, wasi_guest, wasmgrind};
use wasmgrind_trace::rapidbin::RapidBinReader;
use wasmgrind_trace::std_text::StdWriter;
use wasmgrind_trace::{open_trace, Event, Metadata, Names, Op};

/// Records `module` (with `extra` flags before it) into `dir/name`; returns the trace
/// path and the exit status.
fn record(dir: &Path, name: &str, extra: &[&str], module: &Path) -> (PathBuf, i32) {
    let trace = dir.join(name);
    let out = wasmgrind()
        .arg("trace")
        .arg("-o")
        .arg(&trace)
        .args(extra)
        .arg(module)
        .output()
        .unwrap();
    let code = out.status.code().expect("exit status");
    (trace, code)
}

fn events(trace: &Path) -> Vec<Event> {
    open_trace(trace)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// Runs `wasmgrind analyze --format json` and returns (exit status, racy events,
/// racy locations).
fn analyze(trace: &Path, engine: &str) -> (i32, u64, u64) {
    analyze_with(trace, engine, &[])
}

/// [`analyze`] with extra flags.
fn analyze_with(trace: &Path, engine: &str, extra: &[&str]) -> (i32, u64, u64) {
    let (code, json) = analyze_json(trace, engine, extra);
    (
        code,
        json["racy_events"].as_u64().unwrap(),
        json["racy_locations"].as_u64().unwrap(),
    )
}

/// Runs `wasmgrind analyze --format json` with `extra` flags and returns its exit
/// status and report.
fn analyze_json(trace: &Path, engine: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = wasmgrind()
        .args(["analyze", "--format", "json", "--engine", engine])
        .args(extra)
        .arg(trace)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), json)
}

/// Variables written by at least two threads.
fn shared_written(events: &[Event]) -> BTreeSet<u64> {
    let mut writers: BTreeMap<u64, BTreeSet<u32>> = BTreeMap::new();
    for e in events.iter().filter(|e| e.op == Op::Write) {
        writers.entry(e.decor).or_default().insert(e.thread);
    }
    writers
        .into_iter()
        .filter(|(_, t)| t.len() >= 2)
        .map(|(v, _)| v)
        .collect()
}

#[test]
fn racy_guest_rapidbin_trace_reads_back_and_analyzes_racy() {
    let dir = tempfile::tempdir().unwrap();
    let module = wasi_guest("racy_global_write_write");
    let (trace, code) = record(dir.path(), "racy.rapidbin", &[], &module);
    assert_eq!(code, 0, "the program's own status");
    let header = RapidBinReader::open(&trace).unwrap().header();
    let evs = events(&trace);
    assert_eq!(header.events as usize, evs.len());
    let max =
        |f: &dyn Fn(&Event) -> Option<u64>| evs.iter().filter_map(f).max().map_or(0, |m| m + 1);
    assert_eq!(
        header.variables as u64,
        max(&|e| e.op.is_access().then_some(e.decor))
    );
    assert_eq!(
        header.locks as u64,
        max(&|e| e.op.is_lock_op().then_some(e.decor))
    );
    assert_eq!(
        header.threads as u64,
        max(&|e| Some(if e.op.is_thread_op() {
            e.decor.max(e.thread.into())
        } else {
            e.thread.into()
        }))
    );
    assert!(evs
        .iter()
        .any(|e| e.op == Op::Fork && e.thread == 0 && e.decor == 1));

    // SLOT (a u64) is written by both threads; the metadata knows where it is.
    let meta = Metadata::load(&Metadata::path_for(&trace)).unwrap();
    let racy: Vec<_> = shared_written(&evs)
        .into_iter()
        .filter(|v| meta.variables[v].size == 8)
        .collect();
    assert!(
        !racy.is_empty(),
        "no 8-byte variable written by two threads"
    );
    // Every access location has its original code offset.
    for e in evs.iter().filter(|e| e.op.is_access()) {
        assert!(meta.locations.contains_key(&e.loc), "location {}", e.loc);
    }

    let (code, racy_events, _) = analyze(&trace, "hb");
    assert_eq!(code, 66);
    assert!(racy_events >= 1);
}

#[test]
fn std_and_rapidbin_of_one_run_analyze_alike_and_std_recording_works() {
    let dir = tempfile::tempdir().unwrap();
    let module = wasi_guest("racy_global_write_write");
    let (bin, code) = record(dir.path(), "racy.rapidbin", &[], &module);
    assert_eq!(code, 0);
    // The same run as STD text, through the trace crate's writer.
    let std_copy = dir.path().join("copy.std");
    let mut w = StdWriter::create(&std_copy, Names::default()).unwrap();
    for e in events(&bin) {
        w.write(&e).unwrap();
    }
    w.finish().unwrap();
    for engine in ["hb", "fasttrack", "wcp"] {
        assert_eq!(
            analyze(&bin, engine),
            analyze(&std_copy, engine),
            "{engine}"
        );
    }

    // Recording STD directly: readable, with forks and the race.
    let (std, code) = record(dir.path(), "racy.std", &["--format", "std"], &module);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&std).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("T0|fork(T1)|")),
        "{text:.300}"
    );
    let evs = events(&std);
    assert!(!shared_written(&evs).is_empty());
    assert!(Metadata::path_for(&std).exists());
    let (code, racy_events, _) = analyze(&std, "hb");
    assert_eq!(code, 66);
    assert!(racy_events >= 1);
}

#[test]
fn race_free_guest_trace_has_no_hb_race() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, code) = record(dir.path(), "safe.rapidbin", &[], &wasi_guest("safe_mutex"));
    assert_eq!(code, 0);
    let evs = events(&trace);
    // The mutex is seen: inferred lock acquires between the threads' accesses.
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Metadata::path_for(&trace)).unwrap()).unwrap();
    let inferred: BTreeSet<u64> = meta["locks"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, l)| l["kind"] == "inferred")
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert!(evs
        .iter()
        .any(|e| e.op == Op::Acquire && e.thread != 0 && inferred.contains(&e.decor)));
    assert_eq!(analyze(&trace, "hb"), (0, 0, 0));
}

#[test]
fn trapping_guest_leaves_a_readable_trace() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, code) = record(dir.path(), "trap.rapidbin", &[], &wasi_guest("child_panic"));
    assert_eq!(code, 134, "a trap keeps wasmtime's status");
    let header = RapidBinReader::open(&trace).unwrap().header();
    let evs = events(&trace);
    assert_eq!(header.events as usize, evs.len());
    assert!(evs.iter().any(|e| e.op == Op::Fork));
    // The trapping child's own accesses made it into the trace.
    assert!(evs.iter().any(|e| e.thread == 1 && e.op.is_access()));
    assert!(Metadata::load(&Metadata::path_for(&trace)).is_ok());
}

#[test]
fn threadlink_lock_hooks_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, code) = record(
        dir.path(),
        "tl.rapidbin",
        &["--invoke", "run"],
        &threadlink_guest("mutex_counter"),
    );
    assert_eq!(code, 0);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Metadata::path_for(&trace)).unwrap()).unwrap();
    let mutexes: Vec<u64> = meta["locks"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, l)| l["kind"] == "mutex")
        .map(|(id, _)| id.parse().unwrap())
        .collect();
    assert_eq!(mutexes.len(), 1, "one mutex: {mutexes:?}");
    let evs = events(&trace);
    let count = |op| {
        evs.iter()
            .filter(|e| e.op == op && e.decor == mutexes[0])
            .count()
    };
    // 4 threads × 1000 locked increments, then main's final lock.
    assert_eq!(count(Op::Acquire), 4001);
    assert_eq!(count(Op::Release), 4001);
    assert_eq!(count(Op::LockRequest), 4001);
    assert_eq!(evs.iter().filter(|e| e.op == Op::Join).count(), 4);
    assert_eq!(analyze(&trace, "hb"), (0, 0, 0));
}

#[test]
fn analyze_with_module_symbolizes_race_locations() {
    let dir = tempfile::tempdir().unwrap();
    let module = wasi_guest("racy_global_write_write");
    let (trace, _) = record(dir.path(), "racy.rapidbin", &[], &module);
    let out = wasmgrind()
        .args(["analyze", "--engine", "hb", "--module"])
        .arg(&module)
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(66));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("racy_global_write_write")
                && l.contains("racy_global_write_write.rs:")),
        "{text}"
    );
}

#[test]
fn ctrl_c_finishes_the_trace_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("long.rapidbin");
    let bin = assert_cmd::cargo::cargo_bin("wasmgrind");
    let mut child = std::process::Command::new(bin)
        .arg("trace")
        .arg("-o")
        .arg(&trace)
        .arg(wasi_guest("compute"))
        .arg("1000000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the recording is well under way (events are being spilled).
    while std::fs::metadata(&trace).map_or(0, |m| m.len()) < 4 << 20 {
        assert!(child.try_wait().unwrap().is_none(), "ended before Ctrl-C");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    let header = RapidBinReader::open(&trace).unwrap().header();
    assert!(header.events as u64 >= (4 << 20) / 8 - 3);
    assert_eq!(events(&trace).len() as i64, header.events);
}

/// The wasi corpus guests whose names start with `prefix`, from the source tree.
fn corpus(prefix: &str) -> Vec<String> {
    let dir = repo_root().join("guests/wasi/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().ok()?;
            let stem = name.strip_suffix(".rs")?;
            stem.starts_with(prefix).then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

/// The first place where the trace's lock events break the rules RAPID's engines
/// assume: a lock is taken by one thread at a time and released by its holder (a
/// holder may take it again, as re-entrant locks are recorded).
fn ill_formed_lock_event(events: &[Event]) -> Option<String> {
    let mut holders: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        match e.op {
            Op::Acquire => match holders.get_mut(&e.decor) {
                Some((holder, depth)) if *holder == e.thread => *depth += 1,
                Some((holder, _)) => {
                    return Some(format!(
                        "event {i}: T{} acquires L{} held by T{holder}",
                        e.thread, e.decor
                    ))
                }
                None => {
                    holders.insert(e.decor, (e.thread, 1));
                }
            },
            Op::Release => match holders.get_mut(&e.decor) {
                Some((holder, depth)) if *holder == e.thread => {
                    *depth -= 1;
                    if *depth == 0 {
                        holders.remove(&e.decor);
                    }
                }
                _ => {
                    return Some(format!(
                        "event {i}: T{} releases L{}, which it does not hold",
                        e.thread, e.decor
                    ))
                }
            },
            _ => {}
        }
    }
    None
}

/// Number of potential deadlocks `analyze --engine deadlock` finds in `trace`.
fn potential_deadlocks(trace: &Path) -> usize {
    let (_, json) = analyze_json(trace, "deadlock", &[]);
    json["deadlocks"].as_array().map_or(0, Vec::len)
}

/// Every racy wasi guest is found by `trace` + `analyze` (hb and fasttrack), also the
/// ones whose racing accesses have different widths or offsets (overlapping variables,
/// split by byte range); every race-free guest gives no race. Every trace's lock events
/// are well formed (std's `RwLock` and musl's `pthread_rwlock_t`, whose readers share a
/// lock, and unlocks by compare-exchange or `fetch_sub` broke that once), and no
/// race-free guest has a potential deadlock.
#[test]
fn corpus_verdicts_of_trace_and_analyze() {
    let dir = tempfile::tempdir().unwrap();
    let (racy, safe) = (corpus("racy_"), corpus("safe_"));
    assert!(racy.len() >= 20 && safe.len() >= 20, "{racy:?} {safe:?}");
    let mut wrong = Vec::new();
    for (guest, expect_race) in racy
        .iter()
        .map(|g| (g, true))
        .chain(safe.iter().map(|g| (g, false)))
    {
        let (trace, code) = record(
            dir.path(),
            &format!("{guest}.rapidbin"),
            &[],
            &wasi_guest(guest),
        );
        assert_eq!(code, 0, "{guest}: the program's own status");
        if let Some(error) = ill_formed_lock_event(&events(&trace)) {
            wrong.push(format!("{guest}: {error}"));
        }
        if !expect_race && potential_deadlocks(&trace) > 0 {
            wrong.push(format!("{guest}: a potential deadlock"));
        }
        for engine in ["hb", "fasttrack"] {
            let (code, racy_events, _) = analyze(&trace, engine);
            let found = racy_events > 0;
            if found != expect_race || code != if found { 66 } else { 0 } {
                wrong.push(format!(
                    "{guest} {engine}: {racy_events} racy events, exit {code}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

/// A race between an 8-byte and a 4-byte access to shared bytes needs the split, which
/// `--no-split-overlaps` turns off (variables compared by id, as in RAPID).
#[test]
fn mixed_width_race_needs_the_byte_split() {
    let dir = tempfile::tempdir().unwrap();
    let (trace, code) = record(
        dir.path(),
        "mixed.rapidbin",
        &[],
        &wasi_guest("racy_mixed_width"),
    );
    assert_eq!(code, 0);
    let meta = Metadata::load(&Metadata::path_for(&trace)).unwrap();
    let overlapping = meta.variables.values().any(|a| {
        meta.variables.values().any(|b| {
            a != b
                && a.address < b.address + u64::from(b.size)
                && b.address < a.address + u64::from(a.size)
        })
    });
    assert!(overlapping, "the metadata shows overlapping variables");
    for engine in ["hb", "fasttrack", "shb", "wcp", "syncp"] {
        let (code, racy_events, _) = analyze(&trace, engine);
        assert_eq!(code, 66, "{engine}");
        assert!(racy_events >= 1, "{engine}");
        assert_eq!(
            analyze_with(&trace, engine, &["--no-split-overlaps"]),
            (0, 0, 0),
            "{engine} without the split"
        );
    }
    // Converted to STD, the trace keeps `V<id>` names and the metadata beside it, so
    // the split still applies.
    let std = dir.path().join("mixed.std");
    let out = wasmgrind()
        .arg("convert")
        .arg(&trace)
        .arg("-o")
        .arg(&std)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        Metadata::load(&Metadata::path_for(&std)).unwrap().variables,
        meta.variables
    );
    assert_eq!(analyze(&std, "hb"), analyze(&trace, "hb"));
    // Recorded as STD directly: the same.
    let (direct, code) = record(
        dir.path(),
        "direct.std",
        &["--format", "std"],
        &wasi_guest("racy_mixed_width"),
    );
    assert_eq!(code, 0);
    assert_eq!(analyze(&direct, "hb").0, 66);
    assert_eq!(
        analyze_with(&direct, "hb", &["--no-split-overlaps"]),
        (0, 0, 0)
    );
    // Without metadata there is nothing to split by.
    std::fs::remove_file(Metadata::path_for(&trace)).unwrap();
    assert_eq!(analyze(&trace, "hb"), (0, 0, 0));
}

/// The accesses logged before an atomic reach the trace before it, and the ones after it
/// after: the `atomic` hook takes the buffered records itself.
#[test]
fn plain_accesses_keep_their_place_around_an_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("around_atomic.wat");
    std::fs::write(
        &module,
        r#"(module
  (memory (export "memory") 1 1 shared)
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 5))
    (i32.store (i32.const 20) (i32.const 6))
    (i32.atomic.store (i32.const 8) (i32.const 1))
    (i32.store (i32.const 24) (i32.const 7))))"#,
    )
    .unwrap();
    let (trace, code) = record(dir.path(), "t.std", &["--format", "std"], &module);
    assert_eq!(code, 0);
    let ops: Vec<(Op, u64)> = events(&trace).iter().map(|e| (e.op, e.decor)).collect();
    // Variables get ids in first-use order: 16 → 0, 20 → 1, the atomic word → 2, 24 → 3.
    assert_eq!(
        ops,
        [
            (Op::Write, 0),
            (Op::Write, 1),
            (Op::Acquire, 0),
            (Op::Write, 2),
            (Op::Release, 0),
            (Op::Write, 3),
        ]
    );
}

/// `-o` and `--format` may come after the program's arguments (the synopsis the README
/// gives); given before the module, a later `-o` is the program's.
/// Runs `wasmgrind trace <before> env_args.wasm <after>`, asserting success; returns
/// the guest's printed argv.
fn trace_env_args(before: &[&OsStr], after: &[&OsStr]) -> String {
    let out = wasmgrind()
        .arg("trace")
        .args(before)
        .arg(wasi_guest("env_args"))
        .args(after)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn output_and_format_may_follow_the_program_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.std");
    let after = [
        "one".as_ref(),
        "-o".as_ref(),
        trace.as_os_str(),
        "--format".as_ref(),
        "std".as_ref(),
    ];
    let stdout = trace_env_args(&[], &after);
    assert!(
        stdout.contains(r#"args ["env_args.wasm", "one"]"#),
        "{stdout}"
    );
    // STD text, as asked.
    assert!(std::fs::read_to_string(&trace).unwrap().contains("|fork("));

    let trace = dir.path().join("t.rapidbin");
    let stdout = trace_env_args(
        &["-o".as_ref(), trace.as_os_str()],
        &["-o".as_ref(), "x".as_ref()],
    );
    assert!(
        stdout.contains(r#"args ["env_args.wasm", "-o", "x"]"#),
        "{stdout}"
    );
    assert!(!events(&trace).is_empty());
}

#[test]
fn a_missing_trace_file_is_a_clear_error() {
    let out = wasmgrind()
        .arg("trace")
        .arg(wasi_guest("env_args"))
        .arg("one")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("wasmgrind: error: no trace file"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the program must not run");
}
