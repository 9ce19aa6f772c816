//! Deadlocks and hangs: `run` and `check` stop a program whose threads are all blocked
//! for good (exit 123) or that runs past `--timeout` (exit 124), and report every
//! thread — what it waits on, who holds that lock, its stack — and the cycle.
//!
//! Expectations come from the guests' sources: a line ending in `// BLOCKS` is a call
//! some thread is stuck in for good, so it must appear in the stack of a blocked thread
//! of the report (of a thread of the cycle, for deadlocks). Every command runs under a
//! time limit, so a detection that fails makes the test fail, never hang.

mod common;

use std::time::Duration;

use common::{wasmgrind, Abi};
use serde_json::Value;

/// Exit status of a program stopped because every thread was blocked.
const EXIT_DEADLOCK: i32 = 123;
/// Exit status of a program stopped by `--timeout`.
const EXIT_TIMEOUT: i32 = 124;
/// A guard far above the detection's few hundred milliseconds.
const GUARD: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `run`: text report on stderr.
    Run,
    /// `check --format json --log-file`: a JSON report.
    Check,
}

/// How the guest's source file ends in reports (DWARF path, or text display).
fn file_suffix(abi: Abi, guest: &str) -> String {
    match abi {
        Abi::Wasi => format!("src/bin/{guest}.rs"),
        Abi::Threadlink => "src/lib.rs".to_string(),
    }
}

/// One thread of a hang report, in a form both outputs give.
#[derive(Debug)]
struct ThreadSeen {
    thread: u64,
    /// `running`, `waiting` or `joining`.
    state: String,
    /// The lock word's holder, for a waiting thread.
    owner: Option<u64>,
    /// `(file, line)` of every frame.
    lines: Vec<(String, u64)>,
}

/// What a run of wasmgrind on a guest showed.
#[derive(Debug)]
struct Seen {
    code: Option<i32>,
    stdout: String,
    /// `deadlock`, `all_blocked` or `timeout`; `None` when nothing was reported.
    kind: Option<String>,
    cycle: Vec<u64>,
    threads: Vec<ThreadSeen>,
    report: String,
}

fn wasmgrind_on(mode: Mode, abi: Abi, guest: &str, extra: &[&str]) -> Seen {
    let module = abi.module(guest);
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("reports.jsonl");
    let mut cmd = wasmgrind();
    match mode {
        Mode::Run => {
            cmd.arg("run");
        }
        Mode::Check => {
            cmd.args(["check", "--format", "json", "--log-file"])
                .arg(&log);
        }
    }
    cmd.args(extra);
    if abi == Abi::Threadlink {
        cmd.args(["--invoke", "run"]);
    }
    let output = cmd
        .arg(&module)
        .timeout(GUARD)
        .output()
        .expect("running wasmgrind");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut seen = match mode {
        Mode::Run => parse_text(&stderr),
        Mode::Check => {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            parse_json(&text)
        }
    };
    seen.code = output.status.code();
    seen.stdout = stdout;
    seen.report.push_str(&stderr);
    seen
}

/// Parses the text report of `run`.
fn parse_text(stderr: &str) -> Seen {
    let mut seen = Seen {
        code: None,
        stdout: String::new(),
        kind: None,
        cycle: Vec::new(),
        threads: Vec::new(),
        report: String::new(),
    };
    for line in stderr.lines() {
        if let Some(title) = line.strip_prefix("WARNING: wasmgrind: ") {
            seen.kind = Some(
                if title.starts_with("deadlock") {
                    "deadlock"
                } else if title.starts_with("hang (all threads blocked, no cycle)") {
                    "all_blocked"
                } else if title.starts_with("timeout") {
                    "timeout"
                } else {
                    continue;
                }
                .to_string(),
            );
        } else if let Some(cycle) = line.strip_prefix("  Cycle: ") {
            let mut ids: Vec<u64> = cycle
                .split(" -> ")
                .map(|t| t.trim_start_matches("thread ").parse().expect("thread id"))
                .collect();
            ids.pop(); // The first again, closing the cycle.
            seen.cycle = ids;
        } else if let Some(rest) = line.strip_prefix("  Thread ") {
            let (id, what) = rest.split_once(' ').expect("`Thread N what:`");
            let state = if what.starts_with("waits") {
                "waiting"
            } else if what.starts_with("joins") {
                "joining"
            } else {
                "running"
            };
            let owner = what
                .split_once("held by thread ")
                .map(|(_, o)| o.trim_end_matches(':').parse().expect("owner id"));
            seen.threads.push(ThreadSeen {
                thread: id.parse().expect("thread id"),
                state: state.to_string(),
                owner,
                lines: Vec::new(),
            });
        } else if line.starts_with("    #") {
            let Some((_, at)) = line.rsplit_once(" at ") else {
                continue;
            };
            let mut parts = at.split(':');
            let (Some(file), Some(Ok(n))) = (parts.next(), parts.next().map(str::parse)) else {
                continue;
            };
            if let Some(thread) = seen.threads.last_mut() {
                thread.lines.push((file.to_string(), n));
            }
        }
    }
    seen
}

/// Parses the JSON report of `check`.
fn parse_json(log: &str) -> Seen {
    let mut seen = Seen {
        code: None,
        stdout: String::new(),
        kind: None,
        cycle: Vec::new(),
        threads: Vec::new(),
        report: log.to_string(),
    };
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value = serde_json::from_str(line).expect("report line is JSON");
        if value["kind"] != "hang" {
            continue;
        }
        seen.kind = value["hang"].as_str().map(str::to_string);
        seen.cycle = value["cycle"]
            .as_array()
            .expect("cycle")
            .iter()
            .map(|t| t.as_u64().expect("thread id"))
            .collect();
        for t in value["threads"].as_array().expect("threads") {
            seen.threads.push(ThreadSeen {
                thread: t["thread"].as_u64().expect("thread"),
                state: t["state"]["type"].as_str().expect("state").to_string(),
                owner: t["state"]["owner"].as_u64(),
                lines: t["stack"]
                    .as_array()
                    .expect("stack")
                    .iter()
                    .filter_map(|f| Some((f["file"].as_str()?.to_string(), f["line"].as_u64()?)))
                    .collect(),
            });
        }
    }
    seen
}

/// The 1-based lines of `guest` marked `// BLOCKS`.
fn blocks_marks(abi: Abi, guest: &str) -> Vec<u64> {
    let source = abi.source(guest);
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|e| panic!("reading {}: {e}", source.display()));
    let marks: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with("// BLOCKS"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert!(!marks.is_empty(), "{guest} has no BLOCKS mark");
    marks
}

/// The threads whose stack holds `line` of the guest's source.
fn threads_at<'a>(seen: &'a Seen, suffix: &str, line: u64) -> Vec<&'a ThreadSeen> {
    seen.threads
        .iter()
        .filter(|t| {
            t.lines
                .iter()
                .any(|(f, n)| *n == line && f.replace('\\', "/").ends_with(suffix))
        })
        .collect()
}

/// A deadlock: status, a cycle of `cycle_len` threads, each waiting on a lock held by
/// the next one at a BLOCKS line, and every BLOCKS line in some cycle thread's stack.
fn assert_deadlock(mode: Mode, abi: Abi, guest: &str, cycle_len: usize) {
    let seen = wasmgrind_on(mode, abi, guest, &[]);
    let context = format!("{guest} ({mode:?}):\n{}", seen.report);
    assert_eq!(seen.code, Some(EXIT_DEADLOCK), "{context}");
    assert_eq!(seen.kind.as_deref(), Some("deadlock"), "{context}");
    assert_eq!(seen.cycle.len(), cycle_len, "{context}");
    let marks = blocks_marks(abi, guest);
    let suffix = file_suffix(abi, guest);
    let mut blocked_at = Vec::new();
    for line in &marks {
        let at = threads_at(&seen, &suffix, *line);
        assert!(!at.is_empty(), "a thread blocks at line {line}: {context}");
        blocked_at.extend(at.iter().map(|t| t.thread));
    }
    for (pos, id) in seen.cycle.iter().enumerate() {
        let thread = seen
            .threads
            .iter()
            .find(|t| t.thread == *id)
            .unwrap_or_else(|| panic!("cycle thread {id} listed: {context}"));
        let next = seen.cycle[(pos + 1) % seen.cycle.len()];
        assert_eq!(thread.state, "waiting", "{context}");
        assert_eq!(
            thread.owner,
            Some(next),
            "waits on the next one's lock: {context}"
        );
        assert!(
            blocked_at.contains(id),
            "cycle thread {id} blocks at a BLOCKS line: {context}"
        );
    }
}

/// All threads blocked, no cycle: status, kind, and every BLOCKS line in the stack of a
/// blocked thread.
fn assert_all_blocked(mode: Mode, guest: &str) {
    let seen = wasmgrind_on(mode, Abi::Wasi, guest, &[]);
    let context = format!("{guest} ({mode:?}):\n{}", seen.report);
    assert_eq!(seen.code, Some(EXIT_DEADLOCK), "{context}");
    assert_eq!(seen.kind.as_deref(), Some("all_blocked"), "{context}");
    assert!(seen.cycle.is_empty(), "{context}");
    let suffix = file_suffix(Abi::Wasi, guest);
    for line in blocks_marks(Abi::Wasi, guest) {
        let at = threads_at(&seen, &suffix, line);
        assert!(
            at.iter().any(|t| t.state == "waiting"),
            "a thread waits at line {line}: {context}"
        );
    }
    assert!(
        seen.threads.iter().all(|t| t.state != "running"),
        "{context}"
    );
}

#[test]
fn run_stops_two_mutex_deadlock() {
    assert_deadlock(Mode::Run, Abi::Wasi, "deadlock_two_mutexes", 2);
}

#[test]
fn check_stops_two_mutex_deadlock() {
    assert_deadlock(Mode::Check, Abi::Wasi, "deadlock_two_mutexes", 2);
}

#[test]
fn run_stops_three_thread_cycle() {
    assert_deadlock(Mode::Run, Abi::Wasi, "deadlock_three_threads", 3);
}

#[test]
fn check_stops_three_thread_cycle() {
    assert_deadlock(Mode::Check, Abi::Wasi, "deadlock_three_threads", 3);
}

#[test]
fn run_stops_rwlock_deadlock() {
    assert_deadlock(Mode::Run, Abi::Wasi, "deadlock_rwlock", 2);
}

#[test]
fn check_stops_rwlock_deadlock() {
    assert_deadlock(Mode::Check, Abi::Wasi, "deadlock_rwlock", 2);
}

#[test]
fn run_stops_threadlink_deadlock() {
    assert_deadlock(Mode::Run, Abi::Threadlink, "deadlock_tl_two_mutexes", 2);
}

#[test]
fn check_stops_threadlink_deadlock() {
    assert_deadlock(Mode::Check, Abi::Threadlink, "deadlock_tl_two_mutexes", 2);
}

#[test]
fn threadlink_joiner_of_a_deadlocked_thread_is_reported_joining() {
    let seen = wasmgrind_on(Mode::Run, Abi::Threadlink, "deadlock_tl_two_mutexes", &[]);
    let main = seen
        .threads
        .iter()
        .find(|t| t.thread == 0)
        .expect("thread 0");
    assert_eq!(main.state, "joining", "{}", seen.report);
    assert!(!main.lines.is_empty(), "the join's stack: {}", seen.report);
}

#[test]
fn run_reports_lost_wakeup_as_hang_without_cycle() {
    assert_all_blocked(Mode::Run, "hang_lost_wakeup");
}

#[test]
fn check_reports_lost_wakeup_as_hang_without_cycle() {
    assert_all_blocked(Mode::Check, "hang_lost_wakeup");
}

#[test]
fn run_reports_join_of_blocked_thread() {
    assert_all_blocked(Mode::Run, "hang_join_blocked");
}

#[test]
fn check_reports_join_of_blocked_thread() {
    assert_all_blocked(Mode::Check, "hang_join_blocked");
}

/// `--timeout` on a livelock: status 124 and the spinning thread's stack in its loop
/// (between the two `// SPINS` marks).
fn assert_timeout(mode: Mode) {
    let guest = "hang_infinite_loop";
    let seen = wasmgrind_on(mode, Abi::Wasi, guest, &["--timeout", "1"]);
    let context = format!("{guest} ({mode:?}):\n{}", seen.report);
    assert_eq!(seen.code, Some(EXIT_TIMEOUT), "{context}");
    assert_eq!(seen.kind.as_deref(), Some("timeout"), "{context}");
    let source = std::fs::read_to_string(Abi::Wasi.source(guest)).unwrap();
    let spins: Vec<u64> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("// SPINS"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    let (first, last) = (spins[0], spins[spins.len() - 1]);
    let spinner = seen
        .threads
        .iter()
        .find(|t| t.state == "running")
        .unwrap_or_else(|| panic!("a running thread: {context}"));
    let suffix = file_suffix(Abi::Wasi, guest);
    assert!(
        spinner
            .lines
            .iter()
            .any(|(f, n)| f.ends_with(&suffix) && (first..=last).contains(n)),
        "the spinning loop (lines {first}-{last}) in the running thread's stack: {context}"
    );
}

#[test]
fn run_timeout_stops_infinite_loop_with_its_stack() {
    assert_timeout(Mode::Run);
}

#[test]
fn check_timeout_stops_infinite_loop_with_its_stack() {
    assert_timeout(Mode::Check);
}

#[test]
fn sleeping_threads_are_not_a_hang() {
    for mode in [Mode::Run, Mode::Check] {
        let seen = wasmgrind_on(mode, Abi::Wasi, "hang_sleepers", &[]);
        assert_eq!(seen.code, Some(0), "{mode:?}: {}", seen.report);
        assert_eq!(seen.kind, None, "{mode:?}: {}", seen.report);
        assert!(
            seen.stdout.contains("sleepers done 3"),
            "{mode:?}: {}",
            seen.stdout
        );
    }
}

#[test]
fn correct_blocking_programs_run_normally() {
    for guest in [
        "safe_condvar",
        "safe_barrier",
        "safe_mpsc",
        "sync_primitives",
    ] {
        let seen = wasmgrind_on(Mode::Run, Abi::Wasi, guest, &[]);
        assert_eq!(seen.code, Some(0), "{guest}: {}", seen.report);
        assert_eq!(seen.kind, None, "{guest}: {}", seen.report);
    }
}

#[test]
fn timeout_must_be_positive_seconds() {
    wasmgrind()
        .args(["run", "--timeout", "-1"])
        .arg(Abi::Wasi.module("hang_sleepers"))
        .timeout(GUARD)
        .assert()
        .failure()
        .code(2);
}
