//! Deduplication and suppressions.

mod common;

use std::io::Write as _;

use common::{design_race, race_between};
use wasmgrind_report::{Deduplicator, Finding, ReportError, SuppressionKind, Suppressions};

#[test]
fn one_report_per_unordered_pair_of_sites() {
    let mut d = Deduplicator::new();
    assert!(d.first_time(&race_between(0x120, 0x110)));
    assert!(!d.first_time(&race_between(0x120, 0x110)));
    // The same two sites the other way round are the same race.
    assert!(!d.first_time(&race_between(0x110, 0x120)));
    assert!(d.first_time(&race_between(0x120, 0x130)));
    assert!(d.first_time(&race_between(0x120, 0x120)));
    assert_eq!(d.len(), 3);
}

#[test]
fn copies_of_one_source_access_are_one_report() {
    // An unrolled loop: the same source line at several code offsets.
    let mut d = Deduplicator::new();
    let at = |offset: u32| {
        let Finding::DataRace(mut race) = race_between(0x120, 0x110) else {
            unreachable!()
        };
        race.current.stack[0].code_offset = Some(offset);
        Finding::DataRace(race)
    };
    assert!(d.first_time(&at(0x120)));
    assert!(!d.first_time(&at(0x140)));
    assert!(!d.first_time(&at(0x160)));
    assert_eq!(d.len(), 1);
}

#[test]
fn dedup_ignores_threads_addresses_and_callers() {
    let mut d = Deduplicator::new();
    assert!(d.first_time(&design_race()));
    let Finding::DataRace(mut other) = design_race() else {
        unreachable!()
    };
    other.current.thread = 9;
    other.current.addr += 4;
    other.current.stack.truncate(1);
    assert!(!d.first_time(&Finding::DataRace(other)));
}

#[test]
fn dedup_without_offsets_uses_source_locations() {
    let strip = |mut f: Finding| {
        let Finding::DataRace(race) = &mut f else {
            unreachable!()
        };
        for fr in race
            .current
            .stack
            .iter_mut()
            .chain(race.previous.stack.iter_mut())
        {
            fr.code_offset = None;
        }
        f
    };
    let mut d = Deduplicator::new();
    assert!(d.first_time(&strip(design_race())));
    assert!(!d.first_time(&strip(design_race())));
    let Finding::DataRace(mut moved) = strip(design_race()) else {
        unreachable!()
    };
    moved.current.stack[0].line = Some(99);
    assert!(d.first_time(&Finding::DataRace(moved)));
}

fn parse(text: &str) -> Suppressions {
    Suppressions::parse(text, "supp.txt").unwrap()
}

#[test]
fn race_rules_match_any_frame_of_either_access() {
    // #1 of the current access.
    assert!(parse("race:racy::main::*").is_suppressed(&design_race()));
    assert!(parse("race:*::bump").is_suppressed(&design_race()));
    assert!(parse("race:racy::bum?").is_suppressed(&design_race()));
    assert!(!parse("race:racy::bum").is_suppressed(&design_race()));
    assert!(!parse("race:other::*").is_suppressed(&design_race()));
}

#[test]
fn race_rules_match_only_the_previous_stack_too() {
    let Finding::DataRace(mut race) = design_race() else {
        unreachable!()
    };
    race.previous.stack[0].function = Some("lib::helper".into());
    let f = Finding::DataRace(race);
    assert!(parse("race:lib::helper").is_suppressed(&f));
}

#[test]
fn src_rules_match_full_or_displayed_paths() {
    assert!(parse("src:src/main.rs").is_suppressed(&design_race()));
    assert!(parse("src:/home/*/main.rs").is_suppressed(&design_race()));
    assert!(parse("src:*.rs").is_suppressed(&design_race()));
    assert!(!parse("src:src/lib.rs").is_suppressed(&design_race()));
}

#[test]
fn comments_blank_lines_and_whitespace_are_ignored() {
    let s = parse("# a comment\n\n   \n  race:other  \nsrc: */main.rs\n");
    assert_eq!(s.rules().len(), 2);
    assert_eq!(s.rules()[0].kind, SuppressionKind::Race);
    assert_eq!(s.rules()[0].pattern, "other");
    assert_eq!(s.rules()[1].kind, SuppressionKind::Src);
    assert_eq!(s.rules()[1].line, 5);
    assert_eq!(s.matching(&design_race()).unwrap().line, 5);
    assert!(!parse("# race:*\n").is_suppressed(&design_race()));
}

#[test]
fn parse_errors_name_file_and_line() {
    for (text, line, needle) in [
        ("race:a\nbogus line\n", 2, "expected `race:"),
        ("\n\nthread:a\n", 3, "unknown suppression type `thread`"),
        ("src:   \n", 1, "empty pattern"),
    ] {
        let err = Suppressions::parse(text, "my.supp").unwrap_err();
        match &err {
            ReportError::Suppression {
                file,
                line: l,
                message,
            } => {
                assert_eq!(file, "my.supp");
                assert_eq!(*l, line);
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(
            err.to_string().starts_with(&format!("my.supp:{line}: ")),
            "{err}"
        );
    }
}

#[test]
fn from_file_reads_and_reports_the_path() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "race:racy::bump").unwrap();
    writeln!(f, "oops").unwrap();
    let err = Suppressions::from_file(f.path()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2: ", f.path().display())),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.supp");
    let err = Suppressions::from_file(&missing).unwrap_err();
    assert!(matches!(err, ReportError::Io { .. }));
    assert!(err.to_string().contains("none.supp"), "{err}");
}
