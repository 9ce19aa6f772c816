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

/// The atomic instructions of the threads proposal, as `(text, value type, width in
/// bytes, op)`, where op is `load`, `store`, an rmw operation or `cmpxchg`.
fn every_atomic() -> Vec<(String, &'static str, u32, &'static str)> {
    let mut all = Vec::new();
    for (ty, widths) in [("i32", &[1u32, 2, 4][..]), ("i64", &[1, 2, 4, 8][..])] {
        for &w in widths {
            let full = (ty == "i32" && w == 4) || w == 8;
            let (load, store, rmw, suffix) = if full {
                (
                    "load".to_string(),
                    "store".to_string(),
                    "rmw".to_string(),
                    "",
                )
            } else {
                let bits = w * 8;
                (
                    format!("load{bits}_u"),
                    format!("store{bits}"),
                    format!("rmw{bits}"),
                    "_u",
                )
            };
            all.push((format!("{ty}.atomic.{load}"), ty, w, "load"));
            all.push((format!("{ty}.atomic.{store}"), ty, w, "store"));
            for op in ["add", "sub", "and", "or", "xor", "xchg", "cmpxchg"] {
                all.push((format!("{ty}.atomic.{rmw}.{op}{suffix}"), ty, w, op));
            }
        }
    }
    all
}

/// A module importing a shared memory (so `run` performs its atomics on the host once it
/// is instrumented) whose export `all` runs every atomic instruction on a known pattern,
/// with operands wider than the access, and returns a hash of every result and of the
/// memory afterwards.
fn atomics_module() -> String {
    let mut body = String::new();
    // A pattern in the first 64 bytes.
    for k in 0..8u64 {
        let v = 0x0123_4567_89AB_CDEFu64.rotate_left(8 * k as u32) ^ k;
        body += &format!(
            "(i64.store (i32.const {}) (i64.const {}))\n",
            8 * k,
            v as i64
        );
    }
    for (n, (instr, ty, w, op)) in every_atomic().into_iter().enumerate() {
        let addr = (n as u32 * 8) % 64 + (n as u32 % (8 / w)) * w;
        let c = |v: u64| match ty {
            "i32" => format!("(i32.const {})", v as u32 as i32),
            _ => format!("(i64.const {})", v as i64),
        };
        let mix = |e: String| match ty {
            "i32" => format!("(call $mix (i64.extend_i32_u {e}))\n"),
            _ => format!("(call $mix {e})\n"),
        };
        body += &match op {
            "load" => mix(format!("({instr} (i32.const {addr}))")),
            "store" => format!(
                "({instr} (i32.const {addr}) {})\n",
                c(0xF0E1_D2C3_B4A5_9687)
            ),
            "cmpxchg" => {
                // Store a known value, then compare against it with garbage above the
                // access width (wrapped away: it matches), then against another value.
                let store = if w == 8 || (ty == "i32" && w == 4) {
                    format!("{ty}.atomic.store")
                } else {
                    format!("{ty}.atomic.store{}", w * 8)
                };
                let known = 0x5Au64;
                format!("({store} (i32.const {addr}) {})\n", c(known))
                    + &mix(format!(
                        "({instr} (i32.const {addr}) {} {})",
                        c(0xFFFF_FFFF_FFFF_FF00 | known),
                        c(0x1234_5678_9ABC_DEF0)
                    ))
                    + &mix(format!(
                        "({instr} (i32.const {addr}) {} {})",
                        c(known + 1),
                        c(0x77)
                    ))
            }
            _ => mix(format!(
                "({instr} (i32.const {addr}) {})",
                c(0x8000_0001_FEDC_BA99)
            )),
        };
    }
    for k in 0..8 {
        body += &format!("(call $mix (i64.load (i32.const {})))\n", 8 * k);
    }
    format!(
        r#"(module
  (import "env" "memory" (memory 1 1 shared))
  (global $h (mut i64) (i64.const 0x1F3D5B79))
  (func $mix (param $v i64)
    (global.set $h (i64.xor (i64.mul (global.get $h) (i64.const 0x100000001B3)) (local.get $v))))
  (func (export "all") (result i64)
{body}    (global.get $h))
  (func (export "misaligned") (result i32) (i32.atomic.rmw.add (i32.const 2) (i32.const 1)))
  (func (export "out_of_bounds") (result i64) (i64.atomic.load offset=65536 (i32.const 0))))"#
    )
}

/// Exit status, stdout and stderr of `wasmgrind <subcommand> --invoke <export> <module>`.
fn invoke(subcommand: &str, module: &Path, export: &str) -> (Option<i32>, String, String) {
    let out = wasmgrind()
        .args([subcommand, "--invoke", export])
        .arg(module)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Every atomic instruction gives the same results and leaves the same memory when the
/// host performs it (instrumented, under `run` and `check`) as when wasm does; misaligned
/// and out-of-bounds ones still trap as wasm's do.
#[test]
fn host_performed_atomics_match_the_instructions() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("atomics.wat");
    std::fs::write(&module, atomics_module()).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let instrumented = instrumented(&module, out_dir.path(), &[]);
    let (code, want, _) = invoke("run", &module, "all");
    assert_eq!(code, Some(0));
    assert!(want.trim().parse::<i64>().is_ok(), "a hash: {want}");
    for (subcommand, m) in [("run", &instrumented), ("check", &module)] {
        let (code, got, stderr) = invoke(subcommand, m, "all");
        assert_eq!((code, &got), (Some(0), &want), "{subcommand}: {stderr}");
    }
    for (export, trap) in [
        ("misaligned", "unaligned atomic"),
        ("out_of_bounds", "out of bounds"),
    ] {
        let (code, _, want) = invoke("run", &module, export);
        assert_ne!(code, Some(0), "{export}");
        assert!(want.contains(trap), "{export}: `{trap}` not in {want}");
        // The same trap; under `check`, at the same place of the original module (`run`
        // of the instrumented copy knows no better than its own offsets).
        let first_line = want.lines().next().unwrap();
        for (subcommand, m, expect) in [
            ("run", &instrumented, first_line),
            ("check", &module, &want[..]),
        ] {
            let (got_code, _, got) = invoke(subcommand, m, export);
            assert_eq!(got_code, code, "{subcommand} {export}");
            assert!(
                got.contains(expect),
                "{subcommand} {export}: {got}\nwant: {expect}"
            );
        }
    }
}
