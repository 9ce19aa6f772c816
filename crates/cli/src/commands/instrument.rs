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
    /// Write exactly the module `check` runs: same-epoch repeats filtered in wasm, with
    /// check's per-site policy (with check's buffer size and call stacks).
    #[arg(long, conflicts_with_all = ["buffer_bytes", "no_call_stacks"])]
    pub check: bool,
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
    let instrumented = if args.check {
        let symbolizer = wasmgrind_report::Symbolizer::new(&module.original)
            .context("reading the module's names and DWARF")?;
        let code_map = wasmgrind_runtime::CodeMap::new(&module.original, &module.prepared, None)?;
        wasmgrind_check::instrument(&module.prepared, &symbolizer, &code_map)
            .context("instrumenting the module")?
            .instrumented
    } else {
        wasmgrind_instrument::instrument(&module.prepared, &options)
            .context("instrumenting the module")?
    };
    std::fs::write(&args.output, &instrumented.wasm)
        .with_context(|| format!("writing `{}`", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}
