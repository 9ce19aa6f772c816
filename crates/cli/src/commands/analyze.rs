//! `wasmgrind analyze`: run an offline engine over a recorded trace.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wasmgrind_analysis::render::{write_json, write_text, RenderContext};
use wasmgrind_analysis::{analyze_path_split, EngineKind};
use wasmgrind_trace::Metadata;

/// Exit status when the analysis found races or potential deadlocks.
const FINDINGS_EXIT: u8 = 66;

/// Output format of `wasmgrind analyze`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Each race and potential deadlock, then the counts.
    Text,
    /// One JSON document: {"engine","events","racy_events","racy_locations","races",...}.
    Json,
}

/// Analyze a recorded trace offline; exits with 66 when races or potential deadlocks
/// were found, 0 otherwise.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The trace: RapidBin or STD text (recognized by content).
    pub trace: PathBuf,
    /// Engine: hb, fasttrack, shb, wcp, syncp, lockset or deadlock.
    #[arg(long, default_value = "fasttrack")]
    pub engine: EngineKind,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Metadata JSON (locations → function and code offset); defaults to
    /// `<TRACE>.meta.json` when that file exists.
    #[arg(long)]
    pub metadata: Option<PathBuf>,
    /// The module the trace was recorded from: locations print as function and
    /// file:line (needs the metadata's code offsets).
    #[arg(long, value_name = "WASM")]
    pub module: Option<PathBuf>,
    /// Compare variables by id only, as RAPID does. By default, when the metadata gives
    /// each variable's address and size (RapidBin traces), an access to variables that
    /// overlap others is split by byte range, so accesses of different widths to shared
    /// bytes conflict (an 8-byte write and a 4-byte read of its upper half); STD input
    /// is never split (its ids are its own names, not the metadata's).
    #[arg(long)]
    pub no_split_overlaps: bool,
}

/// Runs `wasmgrind analyze`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let metadata = match &args.metadata {
        Some(path) => Some(Metadata::load(path)?),
        None => {
            let path = Metadata::path_for(&args.trace);
            if path.exists() {
                Some(Metadata::load(&path)?)
            } else {
                None
            }
        }
    };
    let variables = metadata
        .as_ref()
        .filter(|_| !args.no_split_overlaps)
        .map(|m| &m.variables);
    let analyzed = analyze_path_split(args.engine, &args.trace, variables)
        .with_context(|| format!("analyzing {}", args.trace.display()))?;
    let report = &analyzed.report;
    let names = analyzed
        .names
        .as_ref()
        .or(metadata.as_ref().map(|m| &m.names));
    let labeler = match &args.module {
        Some(path) => Some(symbol_labeler(path, metadata.as_ref())?),
        None => None,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        OutputFormat::Text => {
            let ctx = RenderContext {
                names,
                metadata: metadata.as_ref(),
                labeler: labeler
                    .as_ref()
                    .map(|l| l as &dyn wasmgrind_analysis::render::LocationLabeler),
            };
            write_text(report, &ctx, &mut out)?
        }
        OutputFormat::Json => write_json(report, &mut out)?,
    }
    out.flush()?;
    let found = report.racy_events > 0 || !report.deadlocks.is_empty();
    Ok(if found {
        ExitCode::from(FINDINGS_EXIT)
    } else {
        ExitCode::SUCCESS
    })
}

/// Symbolizes the metadata's locations with the module the user gave `trace`.
fn symbol_labeler(
    module: &std::path::Path,
    metadata: Option<&Metadata>,
) -> anyhow::Result<wasmgrind_record::SymbolLabeler> {
    let metadata = metadata.context(
        "--module needs the trace's metadata (code offsets): pass --metadata or keep \
         <TRACE>.meta.json beside the trace",
    )?;
    let loaded = wasmgrind_runtime::LoadedModule::from_file(module)
        .with_context(|| format!("loading the module {}", module.display()))?;
    let symbolizer = wasmgrind_report::Symbolizer::new(&loaded.original)
        .with_context(|| format!("reading the names and DWARF of {}", module.display()))?;
    Ok(wasmgrind_record::SymbolLabeler::new(
        symbolizer,
        metadata.locations.clone(),
    ))
}
