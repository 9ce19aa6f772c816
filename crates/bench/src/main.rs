//! `wasmgrind-bench <suite>`: builds the guests and `wasmgrind`, runs a benchmark suite
//! and prints its table to stdout (progress goes to stderr). See `README.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use wasmgrind_bench::compile_cache::CompileCache;
use wasmgrind_bench::suites::{check_overhead, machine_line, run_overhead, tsan_reference};
use wasmgrind_bench::workloads::{scaled, Workload, CHECK_WORKLOADS, COMPUTE};
use wasmgrind_bench::{tools, BenchError};

/// Which measurements to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Suite {
    /// `wasmgrind run` vs plain wasmtime on the compute guest (issue 2).
    RunOverhead,
    /// `wasmgrind check` vs `wasmgrind run` on five race-free workloads (issue 3).
    CheckOverhead,
    /// ThreadSanitizer vs a plain build of the same five workloads, natively: the
    /// yardstick for check-overhead (needs the nightly toolchain with `rust-src`).
    TsanReference,
    /// All three.
    All,
}

/// wasmgrind's benchmarks: they print numbers, they assert nothing.
#[derive(Debug, Parser)]
#[command(name = "wasmgrind-bench", max_term_width = 100)]
struct Cli {
    suite: Suite,
    /// Measured runs per side (default: 7 for run-overhead, 3 for the others).
    #[arg(long, value_name = "N")]
    runs: Option<usize>,
    /// Divide every work scale by N (a quick smoke run; the numbers then mean little).
    #[arg(long, value_name = "N", default_value_t = 1)]
    divisor: u64,
    /// Use this wasmgrind binary instead of building `<target>/release/wasmgrind`.
    #[arg(long, value_name = "PATH")]
    wasmgrind: Option<PathBuf>,
    /// Do not run `cargo build --release -p wasmgrind` first (use the binary as it is).
    #[arg(long)]
    no_build: bool,
    /// check-overhead: stop starting new rounds of a workload once its `check` runs
    /// took this many seconds (the first round always runs).
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    check_budget: f64,
    /// run-overhead, check-overhead: compile every module on every run (`--no-cache`), as
    /// a first run does, instead of loading it from a compile cache the warm-ups filled.
    #[arg(long)]
    cold_compile: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wasmgrind-bench: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The check workloads, scaled, with their modules.
fn check_workloads(guests: &Path, divisor: u64) -> Result<Vec<(Workload, PathBuf)>, BenchError> {
    CHECK_WORKLOADS
        .iter()
        .map(|w| {
            let w = scaled(*w, divisor);
            Ok((w, tools::guest(guests, w.guest)?))
        })
        .collect()
}

fn run(cli: &Cli) -> Result<(), BenchError> {
    if cli.suite == Suite::TsanReference {
        // Needs neither wasmgrind nor the wasm guests.
        println!("{}\n", machine_line());
        tsan_suite(cli, &mut |line| eprintln!("{line}"));
        return Ok(());
    }
    eprintln!("building the wasi guests and wasmgrind ...");
    let guests = tools::build_wasi_guests()?;
    let wasmgrind = tools::wasmgrind_binary(cli.wasmgrind.as_deref(), !cli.no_build)?;
    let mut progress = |line: &str| eprintln!("{line}");
    println!("{}", machine_line());
    println!("wasmgrind: {}", wasmgrind.display());
    let cache = if cli.cold_compile {
        CompileCache::Cold
    } else {
        CompileCache::warm().map_err(|source| BenchError::Io {
            what: "creating the compile cache directory".into(),
            source,
        })?
    };
    println!("{}\n", cache.describe());

    if matches!(cli.suite, Suite::RunOverhead | Suite::All) {
        let plain = tools::plain_wasmtime_binary()?;
        let workload = scaled(COMPUTE, cli.divisor);
        let guest = tools::guest(&guests, workload.guest)?;
        let report = run_overhead::measure(
            &run_overhead::Config {
                plain: &plain,
                wasmgrind: &wasmgrind,
                guest: &guest,
                workload,
                runs: cli.runs.unwrap_or(7),
                cache: &cache,
            },
            &mut progress,
        )?;
        println!("{}", report.render());

        // The same comparison on the check workloads: synchronization-heavy code is
        // where `run`'s own instrumentation of waits and lock words could cost.
        let workloads = check_workloads(&guests, cli.divisor)?;
        let results = run_overhead::measure_many(
            &plain,
            &wasmgrind,
            &workloads,
            cli.runs.unwrap_or(3),
            &cache,
            &mut progress,
        );
        println!("{}", run_overhead::render_many(&results));
    }

    if matches!(cli.suite, Suite::CheckOverhead | Suite::All) {
        if !tools::has_check(&wasmgrind) {
            println!(
                "check-overhead: skipped: `{} check --help` fails, so this wasmgrind has no \
                 `check` subcommand yet.",
                wasmgrind.display()
            );
            return Ok(());
        }
        let workloads = check_workloads(&guests, cli.divisor)?;
        let report = check_overhead::measure_all(
            &check_overhead::Config {
                wasmgrind: &wasmgrind,
                workloads,
                runs: cli.runs.unwrap_or(3),
                check_budget_seconds: cli.check_budget,
                cache: &cache,
            },
            &mut progress,
        );
        println!("{}", report.render());
    }

    if cli.suite == Suite::All {
        tsan_suite(cli, &mut progress);
    }
    Ok(())
}

/// Runs `tsan-reference`, or says why it cannot (no nightly, no `rust-src`): the
/// other suites' results stand without it.
fn tsan_suite(cli: &Cli, progress: &mut dyn FnMut(&str)) {
    eprintln!("building the workloads natively, plain and with ThreadSanitizer ...");
    let workloads: Vec<Workload> = CHECK_WORKLOADS
        .iter()
        .map(|w| scaled(*w, cli.divisor))
        .collect();
    let names: Vec<&str> = workloads.iter().map(|w| w.guest).collect();
    let built = tools::build_native_guests(tools::Native::Plain, &names).and_then(|plain| {
        Ok((
            plain,
            tools::build_native_guests(tools::Native::Tsan, &names)?,
        ))
    });
    match built {
        Ok((plain, tsan)) => {
            let report = tsan_reference::measure_all(
                &tsan_reference::Config {
                    plain: &plain,
                    tsan: &tsan,
                    workloads,
                    runs: cli.runs.unwrap_or(3),
                },
                progress,
            );
            println!("{}", report.render());
        }
        Err(err) => println!("tsan-reference: skipped: {err}"),
    }
}
