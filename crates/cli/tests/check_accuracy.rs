//! Accuracy of `wasmgrind check` on the guest corpus: every `racy_*` guest must be reported
//! with the right pair of source lines, every `safe_*` guest must not be reported at all.
//!
//! Expectations come from the guests' sources, not from this file: a racy access line ends
//! in `// RACE: <tag>`, and the (one or two) lines sharing a tag are the two sides of one
//! race. A tag on a single line means that line races with itself in another thread. For
//! every tag there must be a JSON report whose `current` stack holds one marked line and
//! whose `previous` stack holds the other (any frame counts: inlining adds frames).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{json_reports, marked_lines, repo_root, stack_has_line, wasmgrind, Abi};
use serde_json::Value;

/// Exit status `check` uses when it reported something (its `--error-exitcode` default).
const REPORTED_EXIT: i32 = 66;
/// The comment that marks one side of a race.
const MARK: &str = "// RACE:";

/// The path suffix a DWARF `file` of this guest's source ends with.
fn file_suffix(abi: Abi, guest: &str) -> String {
    match abi {
        Abi::Wasi => format!("src/bin/{guest}.rs"),
        Abi::Threadlink => format!("{guest}/src/lib.rs"),
    }
}

/// What running `check` on a guest produced.
struct Outcome {
    code: Option<i32>,
    reports: Vec<Value>,
    stderr: String,
}

/// Runs `wasmgrind check --format json` on a guest, with the reports in a log file.
fn check(abi: Abi, guest: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary directory");
    let log = dir.path().join("reports.jsonl");
    let mut cmd = wasmgrind();
    cmd.arg("check")
        .args(["--format", "json", "--log-file"])
        .arg(&log);
    if let Abi::Threadlink = abi {
        cmd.args(["--invoke", "run"]);
    }
    let output = cmd
        .arg(abi.module(guest))
        .output()
        .expect("running wasmgrind");
    let reports = json_reports(&log);
    Outcome {
        code: output.status.code(),
        reports,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The RACE marks of a source: tag → the 1-based lines carrying it.
fn race_marks(source: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut marks: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (line, tag) in marked_lines(source, MARK) {
        assert!(
            !tag.is_empty() && !tag.contains(char::is_whitespace),
            "{}:{line}: malformed race mark `{tag}`",
            source.display()
        );
        marks.entry(tag).or_default().push(line);
    }
    marks
}

/// Whether `report` is a data race between marked lines `a` and `b` (in either order).
fn report_matches(report: &Value, suffix: &str, a: u64, b: u64) -> bool {
    let (current, previous) = (&report["current"], &report["previous"]);
    report["kind"] == "data_race"
        && ((stack_has_line(&current["stack"], suffix, a)
            && stack_has_line(&previous["stack"], suffix, b))
            || (stack_has_line(&current["stack"], suffix, b)
                && stack_has_line(&previous["stack"], suffix, a)))
}

/// The reports as readable lines, for failure messages.
fn describe(reports: &[Value]) -> String {
    if reports.is_empty() {
        return "  (no reports)".to_string();
    }
    reports
        .iter()
        .map(|r| {
            let side = |a: &Value| {
                format!(
                    "{} {}@{:#x} by T{}",
                    a["kind"].as_str().unwrap_or("?"),
                    a["size"],
                    a["addr"].as_u64().unwrap_or(0),
                    a["thread"]
                )
            };
            format!(
                "  {} [{} / previous {}]",
                r["summary"].as_str().unwrap_or("<no summary>"),
                side(&r["current"]),
                side(&r["previous"])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A racy guest: exit status 66 and, for every tag, a report naming its two lines.
fn expect_races(abi: Abi, guest: &str) {
    let marks = race_marks(&abi.source(guest));
    assert!(
        !marks.is_empty(),
        "{guest} is a racy guest without `{MARK} <tag>` marks: nothing to check"
    );
    for (tag, lines) in &marks {
        assert!(
            lines.len() <= 2,
            "{guest}: tag `{tag}` is on lines {lines:?}; a tag names one race (at most two lines)"
        );
    }
    let outcome = check(abi, guest);
    let suffix = file_suffix(abi, guest);
    let missing: Vec<String> = marks
        .iter()
        .filter(|(_, lines)| {
            let (a, b) = (lines[0], *lines.last().unwrap());
            !outcome
                .reports
                .iter()
                .any(|r| report_matches(r, &suffix, a, b))
        })
        .map(|(tag, lines)| format!("`{tag}` (lines {lines:?})"))
        .collect();
    assert!(
        missing.is_empty() && outcome.code == Some(REPORTED_EXIT),
        "{guest}: exit status {:?} (want {REPORTED_EXIT}); races not reported: {}\n\
         reports ({}):\n{}\nstderr:\n{}",
        outcome.code,
        if missing.is_empty() {
            "none".to_string()
        } else {
            missing.join(", ")
        },
        outcome.reports.len(),
        describe(&outcome.reports),
        outcome.stderr
    );
}

/// A race-free guest: exit status 0 and no report at all.
fn expect_clean(abi: Abi, guest: &str) {
    let marks = race_marks(&abi.source(guest));
    assert!(
        marks.is_empty(),
        "{guest} is race-free but has race marks {marks:?}"
    );
    let outcome = check(abi, guest);
    assert!(
        outcome.reports.is_empty() && outcome.code == Some(0),
        "{guest}: exit status {:?} (want 0), {} false report(s):\n{}\nfirst report in full:\n{}\nstderr:\n{}",
        outcome.code,
        outcome.reports.len(),
        describe(&outcome.reports),
        outcome
            .reports
            .first()
            .map(|r| serde_json::to_string_pretty(r).unwrap())
            .unwrap_or_default(),
        outcome.stderr
    );
}

/// One `#[test]` per guest, and the list of guests for the coverage test below.
macro_rules! corpus {
    ($($abi:ident $expect:ident: [$($guest:ident),* $(,)?];)*) => {
        $($(
            #[test]
            fn $guest() {
                $expect(Abi::$abi, stringify!($guest));
            }
        )*)*

        /// Every guest with a test here, by ABI name.
        const CORPUS: &[(&str, &str)] = &[$($((stringify!($abi), stringify!($guest)),)*)*];
    };
}

corpus! {
    Wasi expect_races: [
        racy_c_getenv_first_use,
        racy_chunk_overlap,
        racy_global_read_write,
        racy_global_write_write,
        racy_heap_read_write,
        racy_heap_write_write,
        racy_lazy_init,
        racy_loop_four_threads,
        racy_memory_copy,
        racy_memory_fill,
        racy_mixed_width,
        racy_one_side_locked,
        racy_plain_flag,
        racy_plain_vs_atomic,
        racy_pthread_read_locked_write,
        racy_republish,
        racy_stack_read_write,
        racy_stack_write_write,
        racy_struct_field,
        racy_two_locks,
        racy_unaligned,
        racy_vec_element,
    ];
    Wasi expect_clean: [
        safe_arc_drop,
        safe_atomic_counter,
        safe_barrier,
        safe_condvar,
        safe_heap_reuse,
        safe_join_then_read,
        safe_lazylock,
        safe_lock_word_reuse,
        safe_message_bool,
        safe_message_usize,
        safe_mpsc,
        safe_mutex,
        safe_neighbour_bytes,
        safe_once,
        safe_oncelock,
        safe_paid_debt_slot,
        safe_pthread_condvar,
        safe_pthread_mutex,
        safe_pthread_primitives,
        safe_pthread_stdio,
        safe_ring_buffer,
        safe_rwlock,
        safe_scope_chunks,
        safe_select_handshake,
        safe_select_under_mutex,
        safe_spawn_after_write,
        safe_spin_lock,
        safe_thread_local,
        safe_try_lock_held,
    ];
    Threadlink expect_races: [
        racy_tl_counter,
        racy_tl_one_side_locked,
        racy_tl_stack,
    ];
    Threadlink expect_clean: [
        safe_tl_atomics,
        safe_tl_join_then_read,
        safe_tl_mutex,
    ];
}

/// Every `racy_*`/`safe_*` guest in the source tree has a test above, so a new guest
/// cannot silently go unchecked.
#[test]
fn every_corpus_guest_has_a_test() {
    let is_corpus = |name: &str| name.starts_with("racy_") || name.starts_with("safe_");
    let mut on_disk: Vec<(&str, String)> = Vec::new();
    let bins = repo_root().join("guests/wasi/src/bin");
    for entry in std::fs::read_dir(&bins).expect("listing wasi guests") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".rs").filter(|s| is_corpus(s)) {
            on_disk.push(("Wasi", stem.to_string()));
        }
    }
    let programs = repo_root().join("guests/threadlink/programs");
    for entry in std::fs::read_dir(&programs).expect("listing threadlink guests") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if is_corpus(&name) {
            on_disk.push(("Threadlink", name));
        }
    }
    let missing: Vec<_> = on_disk
        .iter()
        .filter(|(abi, name)| !CORPUS.contains(&(*abi, name.as_str())))
        .collect();
    assert!(missing.is_empty(), "guests without a test: {missing:?}");
    let gone: Vec<_> = CORPUS
        .iter()
        .filter(|(abi, name)| !on_disk.iter().any(|(a, n)| a == abi && n == name))
        .collect();
    assert!(
        gone.is_empty(),
        "tests for guests that do not exist: {gone:?}"
    );
}

/// The mark parser itself: tags, their lines, and marks inside other text.
#[test]
fn race_marks_are_parsed_from_comments() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("g.rs");
    std::fs::write(
        &source,
        "fn f() {\n    a(); // RACE: x\n    b();\n    c(); // RACE: y\n    d(); // RACE: x\n}\n",
    )
    .unwrap();
    let marks = race_marks(&source);
    assert_eq!(marks.len(), 2);
    assert_eq!(marks["x"], vec![2, 5]);
    assert_eq!(marks["y"], vec![4]);
}

/// The matcher: a report matches a tag only with one line in each stack.
#[test]
fn reports_match_only_both_sides() {
    let frame = |file: &str, line: u64| serde_json::json!({"file": file, "line": line});
    let report = |cur: Value, prev: Value| serde_json::json!({"kind": "data_race", "current": {"stack": [cur]}, "previous": {"stack": [prev]}});
    let suffix = "src/bin/g.rs";
    let r = report(frame("/x/src/bin/g.rs", 10), frame("/x/src/bin/g.rs", 20));
    assert!(report_matches(&r, suffix, 10, 20));
    assert!(report_matches(&r, suffix, 20, 10));
    assert!(!report_matches(&r, suffix, 10, 10));
    assert!(!report_matches(&r, suffix, 10, 21));
    let other_file = report(frame("/x/src/bin/h.rs", 10), frame("/x/src/bin/g.rs", 20));
    assert!(!report_matches(&other_file, suffix, 10, 20));
}
