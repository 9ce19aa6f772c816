//! `wasmgrind check`: run a module under online race detection.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use wasmgrind_check::session::SessionMonitor;
use wasmgrind_check::{CheckModule, CheckSession, OutputFormat, Reporter, ReporterConfig};
use wasmgrind_report::{Suppressions, Symbolizer};
use wasmgrind_runtime::{CodeMap, Run};

use super::exec::ExecArgs;

/// Report format of `check`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// ThreadSanitizer-style reports and a final count.
    Text,
    /// One JSON object per finding per line (JSON Lines).
    Json,
}

/// Flags of `wasmgrind check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write reports to this file instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Exit status when anything was reported (unless the program trapped).
    #[arg(long, value_name = "N", default_value_t = 66)]
    pub error_exitcode: i32,
    /// Stop the program at the first report.
    #[arg(long)]
    pub halt_on_error: bool,
    /// Suppressions file: lines `race:<function glob>` or `src:<file glob>`.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Instruments the module, runs it with the detector attached, reports races.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module = args.exec.load()?;
    let options = args.exec.options();
    let suppressions = args
        .suppressions
        .as_deref()
        .map(Suppressions::from_file)
        .transpose()
        .context("reading the suppressions")?;
    let sink: Box<dyn Write + Send> = match &args.log_file {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("creating `{}`", path.display()))?,
        )),
        None => Box::new(std::io::stderr()),
    };
    let symbolizer =
        Symbolizer::new(&module.original).context("reading the module's names and DWARF")?;
    let code_map = CodeMap::new(&module.original, &module.prepared, None)?;
    let CheckModule {
        instrumented,
        classes,
    } = wasmgrind_check::instrument(&module.prepared, &symbolizer, &code_map)
        .context("instrumenting the module")?;
    let config = ReporterConfig {
        format: match args.format {
            Format::Text => OutputFormat::Text,
            Format::Json => OutputFormat::Json,
        },
        suppressions,
        halt_on_error: args.halt_on_error,
        error_exitcode: args.error_exitcode,
    };
    let reporter = Arc::new(Reporter::new(config, symbolizer, code_map, sink));
    let at_exit = reporter.clone();
    let hang_output = super::exec::HangOutput {
        json: matches!(args.format, Format::Json),
        log_file: args.log_file.clone(),
    };
    let termination = Arc::new(super::exec::termination_with(
        &module,
        hang_output,
        move |outcome| {
            at_exit.finish();
            // A trap or a hang keeps its own status; otherwise findings decide.
            match outcome {
                wasmgrind_runtime::Outcome::Trapped { .. }
                | wasmgrind_runtime::Outcome::Hung(_) => None,
                _ => at_exit.exit_override(),
            }
        },
    ));
    reporter.set_termination(termination.clone());
    let session = CheckSession::new(instrumented.sites.clone().into(), classes, reporter);
    let outcome = wasmgrind_runtime::run(Run {
        module: &module,
        instrumented: Some(&instrumented),
        options: &options,
        monitor: Arc::new(SessionMonitor(session)),
        termination: termination.clone(),
    })?;
    termination.terminate(outcome)
}
