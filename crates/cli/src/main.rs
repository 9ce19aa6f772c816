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
            eprintln!("wasmgrind: error: {}", error_message(&err));
            ExitCode::FAILURE
        }
    }
}

/// `err` and its causes, outermost first, joined by `: ` as anyhow's `{:#}` does, but
/// without a cause whose text the message so far already ends with: the library errors
/// say `cannot read `x`: {source}` and also expose that source, which would otherwise
/// print twice.
fn error_message(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    /// An error type that, like the library errors, both prints its source and
    /// exposes it.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read `x`: {source}")]
    struct ReadError {
        source: std::io::Error,
    }

    #[test]
    fn a_source_the_message_already_shows_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Err::<(), _>(ReadError { source: io })
            .context("loading the module")
            .unwrap_err();
        assert_eq!(
            error_message(&err),
            "loading the module: cannot read `x`: no such file"
        );
    }

    #[test]
    fn causes_the_message_does_not_show_are_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Err::<(), _>(io)
            .context("reading `t.std`")
            .context("analyzing t.std")
            .unwrap_err();
        assert_eq!(
            error_message(&err),
            "analyzing t.std: reading `t.std`: no such file"
        );
    }
}
