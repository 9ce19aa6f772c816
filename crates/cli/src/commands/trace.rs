//! `wasmgrind trace`: run a module and record its execution trace for offline analysis.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use wasmgrind_record::{RecordMonitor, Recorder, SiteTable, TraceSink};
use wasmgrind_report::Symbolizer;
use wasmgrind_runtime::{CodeMap, Outcome, Run};
use wasmgrind_trace::Metadata;

use super::exec::ExecArgs;

/// Exit status of a run ended by Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: i32 = 130;

/// Trace format of `wasmgrind trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraceFormat {
    /// RAPID's binary format, plus `<FILE>.meta.json`.
    Rapidbin,
    /// RAPID's STD text format, plus `<FILE>.meta.json`.
    Std,
}

/// Flags of `wasmgrind trace`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The trace file to write.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Trace format (RapidBin's fields are limited to 1024 threads and 32768 code
    /// locations; STD has no limits).
    #[arg(long, value_enum, default_value_t = TraceFormat::Rapidbin)]
    pub format: TraceFormat,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Instruments the module, runs it with the recorder attached, finishes the trace
/// however the program ends.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module = args.exec.load()?;
    let options = args.exec.options();
    let instrumented = wasmgrind_instrument::instrument(&module.prepared, &Default::default())
        .context("instrumenting the module")?;
    // Without names or DWARF the trace still records offsets; analysis can symbolize later.
    let symbolizer = Symbolizer::new(&module.original).ok();
    let code_map = CodeMap::new(&module.original, &module.prepared, None)?;
    let sites = SiteTable::new(
        instrumented.sites.clone().into(),
        &code_map,
        symbolizer.as_ref(),
    );
    let format = match args.format {
        TraceFormat::Rapidbin => wasmgrind_trace::Format::RapidBin,
        TraceFormat::Std => wasmgrind_trace::Format::Std,
    };
    let sink = TraceSink::create(&args.output, format)?;
    let recorder = Recorder::new(sites, sink, Some(Metadata::path_for(&args.output)));

    let interrupted = Arc::new(AtomicBool::new(false));
    let at_exit = recorder.clone();
    let was_interrupted = interrupted.clone();
    let trace_path = args.output.clone();
    let termination = Arc::new(super::exec::termination(&module, move |_outcome| {
        if let Err(e) = at_exit.finish() {
            eprintln!("wasmgrind: error: {e}");
            return Some(1);
        }
        if was_interrupted.load(Ordering::SeqCst) {
            eprintln!(
                "wasmgrind: interrupted; the trace so far is in {}",
                trace_path.display()
            );
            return Some(EXIT_INTERRUPTED);
        }
        None
    }));
    recorder.set_termination(termination.clone());
    let on_sigint = termination.clone();
    wasmgrind_record::interrupt::on_interrupt(move || {
        interrupted.store(true, Ordering::SeqCst);
        on_sigint.terminate(Outcome::Exited(EXIT_INTERRUPTED));
    })?;

    let outcome = wasmgrind_runtime::run(Run {
        module: &module,
        instrumented: Some(&instrumented),
        options: &options,
        monitor: Arc::new(RecordMonitor(recorder)),
        termination: termination.clone(),
    })?;
    termination.terminate(outcome)
}
