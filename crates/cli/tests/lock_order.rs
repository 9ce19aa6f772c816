//! `wasmgrind check` on lock-order inversions (potential deadlocks) and lock misuse.
//!
//! Expected lines come from `// LOCK: <tag>` marks in the guests' sources: for an
//! inversion, `<x>-held` / `<x>-acquired` mark where one edge's locks are taken (or
//! `outer` / `inner` when every edge is taken by one function); for a misuse, the tag
//! is the JSON `misuse` value marking where it happens, and `<misuse>-acquired` where
//! the lock was taken.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{
    json_reports, marked_lines, repo_root, stack_has_line, threadlink_guest, wasi_guest, wasmgrind,
    Abi,
};
use serde_json::Value;

const MARK: &str = "// LOCK:";

/// `wasmgrind check --format json` on a module: exit status and reports.
fn check(module: &Path, extra: &[&str]) -> (Option<i32>, Vec<Value>) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("reports.jsonl");
    let output = wasmgrind()
        .arg("check")
        .args(["--format", "json", "--log-file"])
        .arg(&log)
        .args(extra)
        .arg(module)
        .output()
        .expect("running wasmgrind");
    let reports = json_reports(&log);
    (output.status.code(), reports)
}

/// Tag → 1-based line of each `// LOCK: <tag>` mark.
fn marks(source: &Path) -> BTreeMap<String, u64> {
    marked_lines(source, MARK)
        .into_iter()
        .map(|(line, tag)| (tag, line))
        .collect()
}

fn of_kind<'a>(reports: &'a [Value], kind: &str) -> Vec<&'a Value> {
    reports.iter().filter(|r| r["kind"] == kind).collect()
}

/// The one inversion report; each (held, acquired) line pair is some edge.
fn expect_inversion(reports: &[Value], suffix: &str, edges: &[(u64, u64)], len: usize) {
    let inversions = of_kind(reports, "lock_order_inversion");
    assert_eq!(inversions.len(), 1, "one inversion expected: {reports:#?}");
    let cycle = inversions[0]["cycle"].as_array().expect("cycle");
    assert_eq!(cycle.len(), len, "{cycle:#?}");
    for &(held, acquired) in edges {
        assert!(
            cycle
                .iter()
                .any(|e| stack_has_line(&e["held_stack"], suffix, held)
                    && stack_has_line(&e["acquired_stack"], suffix, acquired)),
            "no edge held at line {held}, acquired at line {acquired}: {cycle:#?}"
        );
    }
    // Consecutive edges chain: each acquired lock is the next edge's held lock.
    for (i, e) in cycle.iter().enumerate() {
        assert_eq!(e["acquired"], cycle[(i + 1) % cycle.len()]["held"]);
    }
}

/// Checks a guest whose threads `a` and `b` each take one edge of a two-lock cycle
/// (marks `a-held`, `a-acquired`, `b-held`, `b-acquired`): it is the one finding.
fn expect_two_thread_inversion(guest: &str) -> Vec<Value> {
    let m = marks(&Abi::Wasi.source(guest));
    let (code, reports) = check(&wasi_guest(guest), &[]);
    assert_eq!(code, Some(66), "{reports:#?}");
    let suffix = format!("src/bin/{guest}.rs");
    expect_inversion(
        &reports,
        &suffix,
        &[
            (m["a-held"], m["a-acquired"]),
            (m["b-held"], m["b-acquired"]),
        ],
        2,
    );
    assert!(of_kind(&reports, "lock_misuse").is_empty(), "{reports:#?}");
    reports
}

#[test]
fn two_thread_inversion_is_reported_with_both_edges() {
    expect_two_thread_inversion("lockorder_two_threads");
}

#[test]
fn three_lock_cycle_is_reported_once() {
    let guest = "lockorder_three_locks";
    let m = marks(&Abi::Wasi.source(guest));
    let (code, reports) = check(&wasi_guest(guest), &[]);
    assert_eq!(code, Some(66), "{reports:#?}");
    let suffix = format!("src/bin/{guest}.rs");
    expect_inversion(&reports, &suffix, &[(m["outer"], m["inner"])], 3);
}

#[test]
fn rwlock_inversion_is_reported_with_its_modes() {
    let reports = expect_two_thread_inversion("lockorder_rwlock");
    // The writer held the RwLock to write and took the mutex (no mode); the other
    // thread held the mutex and asked to read.
    let cycle = of_kind(&reports, "lock_order_inversion")[0]["cycle"]
        .as_array()
        .expect("cycle")
        .clone();
    let modes: Vec<(Value, Value)> = cycle
        .iter()
        .map(|e| (e["held_mode"].clone(), e["acquired_mode"].clone()))
        .collect();
    assert!(modes.contains(&("write".into(), Value::Null)), "{cycle:#?}");
    assert!(modes.contains(&(Value::Null, "read".into())), "{cycle:#?}");
}

#[test]
fn safe_shapes_are_not_reported() {
    for guest in [
        "lockorder_gate_lock",
        "lockorder_same_thread",
        "lockorder_hb_ordered",
        "lockorder_rwlock_readers",
    ] {
        let (code, reports) = check(&wasi_guest(guest), &[]);
        assert!(reports.is_empty(), "{guest}: {reports:#?}");
        assert_eq!(code, Some(0), "{guest}");
    }
}

#[test]
fn locks_left_held_by_a_trap_that_ends_the_program_are_no_misuse() {
    let (code, reports) = check(&wasi_guest("panic_holding_locks"), &[]);
    assert!(reports.is_empty(), "{reports:#?}");
    // The trap's status (abort), not the findings' 66.
    assert_eq!(code, Some(134));
}

#[test]
fn std_locks_produce_no_lock_reports() {
    for guest in [
        "safe_mutex",
        "safe_rwlock",
        "safe_condvar",
        "safe_mpsc",
        "safe_once",
        "safe_oncelock",
        "safe_barrier",
        "racy_two_locks",
    ] {
        let (_, reports) = check(&wasi_guest(guest), &[]);
        let lock_reports: Vec<&Value> = reports
            .iter()
            .filter(|r| r["kind"] != "data_race")
            .collect();
        assert!(lock_reports.is_empty(), "{guest}: {lock_reports:#?}");
    }
}

/// Every misuse `guest` marks is reported exactly once, at its line, and nothing else.
fn expect_misuses(guest: &str, kinds: &[&str]) {
    let m = marks(&Abi::Wasi.source(guest));
    let (code, reports) = check(&wasi_guest(guest), &[]);
    assert_eq!(code, Some(66), "{guest}: {reports:#?}");
    let suffix = format!("src/bin/{guest}.rs");
    let misuses = of_kind(&reports, "lock_misuse");
    for &kind in kinds {
        let found: Vec<&&Value> = misuses.iter().filter(|r| r["misuse"] == kind).collect();
        assert_eq!(found.len(), 1, "{guest}: {kind}: {reports:#?}");
        let report = found[0];
        assert!(
            stack_has_line(&report["stack"], &suffix, m[kind]),
            "{guest}: {kind}: {report:#?}"
        );
        if let Some(&line) = m.get(&format!("{kind}-acquired")) {
            assert!(
                stack_has_line(&report["acquired_stack"], &suffix, line),
                "{guest}: {kind}: {report:#?}"
            );
        }
    }
    assert_eq!(misuses.len(), kinds.len(), "{guest}: {reports:#?}");
    assert_eq!(reports.len(), kinds.len(), "{guest}: {reports:#?}");
}

#[test]
fn each_misuse_is_reported_at_its_line() {
    // Inferred spin lock: an unlock by another thread is not reported (it is a
    // handshake's shape), a retried attempt by the holder is a recursive lock.
    expect_misuses(
        "misuse_spin",
        &["unlock_not_held", "exit_while_holding", "recursive_lock"],
    );
}

#[test]
fn misuse_of_a_pthread_mutex_is_reported_at_its_line() {
    expect_misuses(
        "misuse_pthread",
        &["unlock_by_other_thread", "exit_while_holding"],
    );
}

/// Shapes that were reported as lock misuse or inversions on correct programs (found
/// by running crates' test suites under `check`, see `scripts/crates-under-check`).
#[test]
fn lock_lookalikes_are_not_reported() {
    for guest in [
        // wasi-libc's pthread mutex: unlock in musl's inlined `a_swap`.
        "safe_pthread_mutex",
        // Waiters on a pthread mutex (here through pthread condition variables) move
        // its waiter count 0 → 1 → 0 from any thread, inside `pthread_mutex_lock`.
        "safe_pthread_condvar",
        // A freed mutex's memory reused for an ordinary atomic.
        "safe_lock_word_reuse",
        // crossbeam-channel's select state: claimed by a peer, reset by the owner.
        "safe_select_handshake",
        // The same state nested with a channel's mutex both ways, claimed last by a
        // peer that never resets it.
        "safe_select_under_mutex",
        // A failed try_lock by the holder.
        "safe_try_lock_held",
        // arc-swap's debt slot: paid (0 → 3) by a thread that then exits, found paid
        // by its owner with one failed compare-exchange.
        "safe_paid_debt_slot",
    ] {
        let (code, reports) = check(&wasi_guest(guest), &[]);
        assert!(reports.is_empty(), "{guest}: {reports:#?}");
        assert_eq!(code, Some(0), "{guest}");
    }
}

#[test]
fn deadlock_suppressions_and_exit_code_apply() {
    let dir = tempfile::tempdir().unwrap();
    let supp = dir.path().join("supp.txt");
    std::fs::write(&supp, "deadlock:lockorder_two_threads::*\n").unwrap();
    let module = wasi_guest("lockorder_two_threads");
    let (code, reports) = check(&module, &["--suppressions", supp.to_str().unwrap()]);
    assert!(reports.is_empty(), "{reports:#?}");
    assert_eq!(code, Some(0));
    // A `race:` rule does not hide lock reports.
    std::fs::write(&supp, "race:lockorder_two_threads::*\n").unwrap();
    let (code, reports) = check(
        &module,
        &[
            "--suppressions",
            supp.to_str().unwrap(),
            "--error-exitcode",
            "9",
        ],
    );
    assert_eq!(of_kind(&reports, "lock_order_inversion").len(), 1);
    assert_eq!(code, Some(9));
}

#[test]
fn text_report_shows_the_cycle() {
    let output = wasmgrind()
        .arg("check")
        .arg(wasi_guest("lockorder_two_threads"))
        .output()
        .expect("running wasmgrind");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("WARNING: wasmgrind: lock-order inversion (potential deadlock)"),
        "{stderr}"
    );
    assert!(stderr.contains("Cycle in lock order graph:"), "{stderr}");
    assert!(stderr.contains("found 1 lock-order inversion"), "{stderr}");
}

#[test]
fn threadlink_inversion_with_the_tracing_mutex() {
    let guest = "lockorder_tl_inversion";
    let source = repo_root().join(format!("guests/threadlink/programs/{guest}/src/lib.rs"));
    let m = marks(&source);
    let (code, reports) = check(&threadlink_guest(guest), &["--invoke", "run"]);
    // The guest deadlocks every time: the run is stopped (123) and the inversion
    // behind it is reported with both edges.
    assert_eq!(code, Some(123), "{reports:#?}");
    let suffix = format!("{guest}/src/lib.rs");
    expect_inversion(
        &reports,
        &suffix,
        &[
            (m["a-held"], m["a-acquired"]),
            (m["b-held"], m["b-acquired"]),
        ],
        2,
    );
}
