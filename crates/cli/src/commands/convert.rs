//! `wasmgrind convert`: convert a trace between RapidBin, STD text and a timeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use wasmgrind_analysis::{analyze_path, EngineKind};
use wasmgrind_trace::convert::convert;
use wasmgrind_trace::Format;

/// Target format of `wasmgrind convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// RAPID's binary format (plus `<OUT>.meta.json` when there are names or metadata).
    Rapidbin,
    /// RAPID's STD text format.
    Std,
    /// Chrome/Perfetto trace-event JSON, with FastTrack's races as arrows.
    Timeline,
}

impl From<Target> for Format {
    fn from(t: Target) -> Format {
        match t {
            Target::Rapidbin => Format::RapidBin,
            Target::Std => Format::Std,
            Target::Timeline => Format::Timeline,
        }
    }
}

/// Convert a trace between RapidBin, STD text and a Chrome/Perfetto timeline.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The input trace: RapidBin or STD text (recognized by content).
    pub input: PathBuf,
    /// The output file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Target format; by default inferred from the output's extension
    /// (.rapidbin/.bin, .std/.txt, .json).
    #[arg(long, value_enum)]
    pub to: Option<Target>,
}

/// Runs `wasmgrind convert`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let to = match args.to {
        Some(t) => t.into(),
        None => Format::from_extension(&args.output).with_context(|| {
            format!(
                "cannot tell the target format from {}; pass --to rapidbin|std|timeline",
                args.output.display()
            )
        })?,
    };
    let races: Vec<(u64, u64)> = if to == Format::Timeline {
        let analyzed = analyze_path(EngineKind::FastTrack, &args.input)
            .with_context(|| format!("analyzing {}", args.input.display()))?;
        analyzed
            .report
            .races
            .iter()
            .map(|r| (r.first.index, r.second.index))
            .collect()
    } else {
        Vec::new()
    };
    let events = convert(&args.input, &args.output, to, &races).with_context(|| {
        format!(
            "converting {} to {}",
            args.input.display(),
            args.output.display()
        )
    })?;
    eprintln!(
        "wasmgrind: wrote {events} events to {} ({})",
        args.output.display(),
        to.name()
    );
    Ok(ExitCode::SUCCESS)
}
