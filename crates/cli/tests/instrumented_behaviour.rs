//! The instrumented module behaves exactly as the original when nothing analyzes
//! it: `wasmgrind instrument` output run with `wasmgrind run` (whose hooks observe
//! nothing) gives the same output and exit status as the original, on every
//! guest with deterministic output.

mod common;

use std::path::{Path, PathBuf};

use common::{repo_root, threadlink_guest, wasi_guest, wasmgrind};

/// Exit status and stdout lines (sorted: threads may print in any order).
fn observe(module: &Path, invoke: Option<&str>, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut cmd = wasmgrind();
    cmd.arg("run");
    if let Some(export) = invoke {
        cmd.args(["--invoke", export]);
    }
    let out = cmd
        .arg(module)
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    (out.status.code(), lines)
}

/// `module` instrumented as `wasmgrind instrument` writes it, with `flags`.
fn instrumented(module: &Path, dir: &Path, flags: &[&str]) -> PathBuf {
    let out = dir.join(module.file_name().unwrap());
    wasmgrind()
        .arg("instrument")
        .args(flags)
        .arg(module)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    out
}

/// Both the default instrumentation and `check`'s (repeat filter and site policy)
/// behave as the original.
fn assert_same(module: &Path, invoke: Option<&str>, args: &[&str]) {
    let original = observe(module, invoke, args);
    for flags in [&[][..], &["--check"][..]] {
        let dir = tempfile::tempdir().unwrap();
        let copy = instrumented(module, dir.path(), flags);
        let rewritten = observe(&copy, invoke, args);
        assert_eq!(
            original,
            rewritten,
            "{} behaves differently once instrumented with {flags:?}",
            module.display()
        );
    }
}

#[test]
fn wasi_guests_behave_the_same() {
    let fixed: &[(&str, &[&str])] = &[
        ("hello_threads", &[]),
        ("scope_sum", &[]),
        ("sync_primitives", &[]),
        ("many_threads", &["16"]),
        ("thousand_threads", &["200"]),
        ("env_args", &["a", "b"]),
        ("sleep_yield", &[]),
        ("child_exit", &[]),
        ("child_panic", &[]),
        ("compute", &["5"]),
    ];
    for (guest, args) in fixed {
        assert_same(&wasi_guest(guest), None, args);
    }
}

#[test]
fn race_free_corpus_behaves_the_same() {
    let bins = repo_root().join("guests/wasi/src/bin");
    let mut tested = 0;
    for entry in std::fs::read_dir(bins).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(guest) = name
            .strip_prefix("safe_")
            .and_then(|_| name.strip_suffix(".rs"))
        {
            assert_same(&wasi_guest(guest), None, &[]);
            tested += 1;
        }
    }
    assert!(
        tested >= 15,
        "expected the race-free corpus, found {tested} guests"
    );
}

#[test]
fn threadlink_guests_behave_the_same() {
    for guest in [
        "tls_counters",
        "deep_recursion",
        "spawn_join",
        "mutex_counter",
        "join_unknown",
        "join_trapped",
        "guest_panic",
    ] {
        assert_same(&threadlink_guest(guest), Some("run"), &[]);
    }
}
