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
#[command(
    after_help = "`-o` and `--format` may also come last, after the program's arguments: \
    `wasmgrind trace app.wasm 10 -o app.rapidbin`. When `-o` is not given before the module, \
    a trailing `-o FILE` (with a `--format F` next to it) is wasmgrind's, not the program's."
)]
pub struct Args {
    /// The trace file to write (required; before the module or last).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Trace format, rapidbin by default (RapidBin's fields are limited to 1024
    /// threads and 32768 code locations; STD has no limits).
    #[arg(long, value_enum)]
    pub format: Option<TraceFormat>,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// wasmgrind's own options found after the program's arguments.
#[derive(Debug, Default, PartialEq)]
struct Trailing {
    output: Option<PathBuf>,
    format: Option<TraceFormat>,
}

/// Finds trailing trace options among the program's arguments `args`: the longest
/// suffix made only of `-o FILE`, `--output FILE`, `--output=FILE`, `--format F` and
/// `--format=F` (each at most once, `F` a format) that names the output file. Returns
/// how many arguments stay the program's (all of them when there is no such suffix)
/// and the options. So `app.wasm --format json -o t.bin` leaves the program its
/// `--format json`.
fn split_trailing(args: &[String]) -> (usize, Trailing) {
    (0..args.len())
        .find_map(|k| Some((k, parse_trailing(&args[k..])?)))
        .unwrap_or((args.len(), Trailing::default()))
}

/// `tokens` read as trace options only, naming the output; `None` otherwise.
fn parse_trailing(tokens: &[String]) -> Option<Trailing> {
    let mut t = Trailing::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        let (name, value, used) = match token.split_once('=') {
            Some((name @ ("--output" | "--format"), value)) => (name, value, 1),
            _ if matches!(token, "-o" | "--output" | "--format") => {
                (token, tokens.get(i + 1)?.as_str(), 2)
            }
            _ => return None,
        };
        match name {
            "--format" if t.format.is_none() => {
                t.format = Some(clap::ValueEnum::from_str(value, false).ok()?);
            }
            "-o" | "--output" if t.output.is_none() && !value.is_empty() => {
                t.output = Some(PathBuf::from(value));
            }
            _ => return None,
        }
        i += used;
    }
    t.output.is_some().then_some(t)
}

impl Args {
    /// The trace file and format: from the flags before the module or, when `-o` was
    /// not among them, from the trailing ones, which then leave the program's arguments.
    fn output_and_format(&mut self) -> anyhow::Result<(PathBuf, TraceFormat)> {
        if let Some(output) = self.output.clone() {
            return Ok((output, self.format.unwrap_or(TraceFormat::Rapidbin)));
        }
        let (keep, trailing) = split_trailing(self.exec.program_args());
        self.exec.truncate_program_args(keep);
        let Some(output) = trailing.output else {
            anyhow::bail!(
                "no trace file: give `-o <FILE>` before the module or after the program's arguments"
            );
        };
        if self.format.is_some() && trailing.format.is_some() {
            anyhow::bail!(
                "`--format` is given both before the module and after the program's arguments"
            );
        }
        let format = self.format.or(trailing.format);
        Ok((output, format.unwrap_or(TraceFormat::Rapidbin)))
    }
}

/// Instruments the module, runs it with the recorder attached, finishes the trace
/// however the program ends.
pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let (output, format) = args.output_and_format()?;
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
    let format = match format {
        TraceFormat::Rapidbin => wasmgrind_trace::Format::RapidBin,
        TraceFormat::Std => wasmgrind_trace::Format::Std,
    };
    let sink = TraceSink::create(&output, format)?;
    let recorder = Recorder::new(sites, sink, Some(Metadata::path_for(&output)));

    let interrupted = Arc::new(AtomicBool::new(false));
    let at_exit = recorder.clone();
    let was_interrupted = interrupted.clone();
    let trace_path = output.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn split(args: &[&str]) -> (Vec<String>, Trailing) {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (keep, trailing) = split_trailing(&args);
        args.truncate(keep);
        (args, trailing)
    }

    fn trailing(output: &str, format: Option<TraceFormat>) -> Trailing {
        Trailing {
            output: Some(output.into()),
            format,
        }
    }

    #[test]
    fn trailing_output_and_format_leave_the_program_its_arguments() {
        let std = Some(TraceFormat::Std);
        assert_eq!(
            split(&["10", "-o", "t.bin"]),
            (vec!["10".into()], trailing("t.bin", None))
        );
        assert_eq!(
            split(&["10", "--format", "std", "--output", "t.std"]),
            (vec!["10".into()], trailing("t.std", std))
        );
        assert_eq!(
            split(&["--output=t.std", "--format=std"]),
            (vec![], trailing("t.std", std))
        );
    }

    #[test]
    fn what_is_not_a_trace_option_stays_the_programs() {
        // An invalid format is the program's; the output after it is still taken.
        assert_eq!(
            split(&["--format", "json", "-o", "t.bin"]),
            (
                vec!["--format".into(), "json".into()],
                trailing("t.bin", None)
            )
        );
        // Given twice: the longest valid suffix is the last `-o b`.
        assert_eq!(
            split(&["-o", "a", "-o", "b"]),
            (vec!["-o".into(), "a".into()], trailing("b", None))
        );
        // No output named, a dangling `-o`, an unknown option, an empty file name.
        for args in [
            &["--format", "std"][..],
            &["10", "-o"],
            &["-o", "a", "--verbose"],
            &["--output="],
        ] {
            assert_eq!(
                split(args),
                (
                    args.iter().map(|s| s.to_string()).collect(),
                    Trailing::default()
                )
            );
        }
    }
}
