//! Prints symbolization throughput: building a `Symbolizer`, cold and cached
//! `frames` lookups over every instruction, and `describe_address` lookups.
//!
//! `cargo bench -p wasmgrind-report --bench symbolize [-- path/to/module.wasm]`;
//! without a path it builds and uses the test fixture (a small Rust program with
//! DWARF, linked with std).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wasmgrind_report::Symbolizer;
use wasmparser::{Parser, Payload};

fn fixture() -> PathBuf {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("report-fixture"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/report-fixture"),
    };
    let status = Command::new("cargo")
        .args([
            "+stable",
            "build",
            "--release",
            "--target",
            "wasm32-wasip1-threads",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixture"))
        .env("CARGO_PROFILE_RELEASE_DEBUG", "2")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTUP_TOOLCHAIN")
        .status()
        .expect("running cargo to build the fixture");
    assert!(status.success(), "building the fixture failed");
    target_dir.join("wasm32-wasip1-threads/release/racy.wasm")
}

fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(fixture);
    let wasm = std::fs::read(&path).expect("reading the module");

    let mut offsets = Vec::new();
    for payload in Parser::new(0).parse_all(&wasm) {
        if let Payload::CodeSectionEntry(body) = payload.expect("valid module") {
            for op in body
                .get_operators_reader()
                .expect("body")
                .into_iter_with_offsets()
            {
                offsets.push(op.expect("operator").1 as u32);
            }
        }
    }

    let t = Instant::now();
    let sym = Symbolizer::new(&wasm).expect("symbolizer");
    let build = t.elapsed();
    println!(
        "{}: {} bytes, {} instructions, dwarf: {}",
        path.display(),
        wasm.len(),
        offsets.len(),
        sym.has_dwarf()
    );
    println!(
        "Symbolizer::new          {:>10.2} ms",
        build.as_secs_f64() * 1e3
    );

    let mut frames = 0usize;
    let t = Instant::now();
    for &o in &offsets {
        frames += sym.frames(o).len();
    }
    let cold = t.elapsed();
    // Repeated lookups of a working set smaller than the symbolizer's cache, as
    // reports hitting the same sites again do.
    let hot = &offsets[..offsets.len().min(2000)];
    let rounds = 20;
    for &o in hot {
        frames += sym.frames(o).len();
    }
    let t = Instant::now();
    for _ in 0..rounds {
        for &o in hot {
            frames += sym.frames(o).len();
        }
    }
    let warm = t.elapsed();
    let n = offsets.len().max(1) as f64;
    let hot_n = (hot.len() * rounds).max(1) as f64;
    println!(
        "frames (cold, first use) {:>10.0} ns/lookup",
        cold.as_secs_f64() * 1e9 / n
    );
    println!(
        "frames (cached)          {:>10.0} ns/lookup",
        warm.as_secs_f64() * 1e9 / hot_n
    );

    let lookups = 1_000_000u32;
    let mut hits = 0usize;
    let t = Instant::now();
    for i in 0..lookups {
        hits += usize::from(sym.describe_address(0x0010_0000 + i * 4).is_some());
    }
    let d = t.elapsed();
    println!(
        "describe_address         {:>10.0} ns/lookup ({hits} hits of {lookups})",
        d.as_secs_f64() * 1e9 / f64::from(lookups)
    );
    println!("({frames} frames total)");
}
