//! `wasmgrind instrument`: write the instrumented module `check` would run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Flags of `wasmgrind instrument`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The module (binary or text); threadlink modules are threadified first.
    pub input: PathBuf,
    /// Where to write the instrumented module.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// Capacity of each thread's event buffer in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = wasmgrind_instrument::Options::default().buffer_bytes)]
    pub buffer_bytes: u32,
    /// Do not log call enter/exit records (reports then lack callers).
    #[arg(long)]
    pub no_call_stacks: bool,
}

/// Writes the instrumented module.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module =
        wasmgrind_runtime::LoadedModule::from_file(&args.input).context("loading the module")?;
    let options = wasmgrind_instrument::Options {
        buffer_bytes: args.buffer_bytes,
        call_stacks: !args.no_call_stacks,
        ..Default::default()
    };
    let instrumented = wasmgrind_instrument::instrument(&module.prepared, &options)
        .context("instrumenting the module")?;
    std::fs::write(&args.output, &instrumented.wasm)
        .with_context(|| format!("writing `{}`", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
