//! wasmtime's compilation cache, on by default for `run`, `check` and `trace`: entries
//! land in `$XDG_CACHE_HOME/wasmtime`, a re-run finds the entry it wrote (the
//! instrumented module is byte-for-byte the same, or no run could ever hit), `--no-cache`
//! leaves the cache alone, and an unusable cache configuration never fails a run.

mod common;

use std::path::{Path, PathBuf};

use common::{wasi_guest, wasmgrind};

/// The compiled modules in the cache under `cache_home` (not wasmtime's usage
/// statistics or the cleanup worker's files), sorted.
fn cached_modules(cache_home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![cache_home.join("wasmtime").join("modules")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_none() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `wasmgrind <args…>` with the cache and the wasmtime configuration under `home`.
fn wasmgrind_in(home: &Path, args: &[&str], module: &Path) -> assert_cmd::assert::Assert {
    wasmgrind()
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .args(args)
        .arg(module)
        .assert()
}

/// The guest's own source lines a report names (which side of the race is the current
/// access depends on the schedule, so not their order).
fn guest_lines(output: &std::process::Output) -> std::collections::BTreeSet<String> {
    String::from_utf8_lossy(&output.stderr)
        .split_whitespace()
        .filter(|word| word.starts_with("src/bin/"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_rerun_reuses_the_entry_its_first_run_wrote() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    let racy = wasi_guest("racy_global_write_write");
    let first = wasmgrind_in(home.path(), &["check"], &racy).code(66);
    let after_check = cached_modules(&cache);
    assert_eq!(
        after_check.len(),
        1,
        "check stores its module: {after_check:?}"
    );

    let again = wasmgrind_in(home.path(), &["check"], &racy).code(66);
    assert_eq!(
        cached_modules(&cache),
        after_check,
        "the re-run compiles the same module, so it finds the entry instead of adding one"
    );
    let lines = guest_lines(first.get_output());
    assert_eq!(lines.len(), 2, "both sides of the race: {lines:?}");
    assert_eq!(
        guest_lines(again.get_output()),
        lines,
        "the cached module reports the same race at the same lines"
    );

    // `run` instruments less (only what blocks), so it is another module.
    wasmgrind_in(home.path(), &["run"], &racy).success();
    assert_eq!(cached_modules(&cache).len(), 2);
}

#[test]
fn no_cache_leaves_the_cache_alone() {
    let home = tempfile::tempdir().unwrap();
    let module = wasi_guest("hello_threads");
    for command in ["run", "check"] {
        wasmgrind_in(home.path(), &[command, "--no-cache"], &module).success();
    }
    assert!(cached_modules(&home.path().join("cache")).is_empty());
}

#[test]
fn a_malformed_cache_configuration_runs_without_the_cache() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config").join("wasmtime");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[cache\nthis is not toml").unwrap();
    let module = wasi_guest("hello_threads");
    wasmgrind_in(home.path(), &["run"], &module)
        .success()
        .stdout(predicates::str::contains("sum 100"));
    assert!(cached_modules(&home.path().join("cache")).is_empty());
}
