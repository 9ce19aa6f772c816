//! `wasmgrind`: run multithreaded WebAssembly natively and find its data races and
//! deadlocks. This crate only parses flags and calls the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// Find data races and deadlocks in multithreaded WebAssembly, run natively on wasmtime.
#[derive(Debug, Parser)]
#[command(name = "wasmgrind", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a module (wasi-threads or wasm_threadlink) natively, without analysis.
    Run(commands::run::Args),
    /// Run a module and report its data races at their source lines.
    Check(commands::check::Args),
    /// Run a module and record its execution trace (RapidBin or STD) for offline analysis.
    Trace(commands::trace::Args),
    /// Write the instrumented module `check` runs (for inspection).
    Instrument(commands::instrument::Args),
    /// Patch a wasm_threadlink module so every thread gets its own stack and TLS.
    Threadify(commands::threadify::Args),
    /// Analyze a recorded trace offline.
    Analyze(commands::analyze::Args),
    /// Convert a trace between RapidBin, STD text and a Chrome/Perfetto timeline.
    Convert(commands::convert::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Trace(args) => commands::trace::run(args),
        Command::Instrument(args) => commands::instrument::run(args),
        Command::Threadify(args) => commands::threadify::run(args),
        Command::Analyze(args) => commands::analyze::run(args),
        Command::Convert(args) => commands::convert::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("wasmgrind: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
