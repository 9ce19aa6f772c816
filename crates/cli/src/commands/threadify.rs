//! `wasmgrind threadify`: apply the wasm-threadify patch to a threadlink module.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Flags of `wasmgrind threadify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wasm_threadlink module to patch (binary or text).
    pub input: PathBuf,
    /// Where to write the patched module.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
}

/// Writes the threadified module.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module =
        wasmgrind_runtime::LoadedModule::from_file(&args.input).context("loading the module")?;
    let patched = wasmgrind_threadify::threadify(&module.original)
        .with_context(|| format!("threadifying `{}`", args.input.display()))?;
    std::fs::write(&args.output, patched)
        .with_context(|| format!("writing `{}`", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
