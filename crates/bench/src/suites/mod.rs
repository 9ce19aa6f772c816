//! The benchmark suites. Each measures, then returns a report whose `render` gives the
//! pasteable text, so formatting is testable without running anything.

pub mod check_overhead;
pub mod run_overhead;
pub mod tsan_reference;

use std::path::Path;
use std::process::Command;

use crate::compile_cache::CompileCache;
use crate::measure::Measurement;
use crate::stats::{geomean, Summary};
use crate::table::Table;
use crate::workloads::Workload;

/// One measured run, reduced to what the reports use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Wall time in seconds.
    pub seconds: f64,
    /// CPU time (user + system, all threads) in seconds.
    pub cpu_seconds: f64,
    /// Peak RSS in MiB.
    pub rss_mib: f64,
}

impl From<&Measurement> for Sample {
    fn from(m: &Measurement) -> Self {
        Sample {
            seconds: m.wall.as_secs_f64(),
            cpu_seconds: m.cpu.as_secs_f64(),
            rss_mib: m.peak_rss_mib(),
        }
    }
}

/// Median/min/max of the wall times, the CPU times and the peak RSS of some samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSummary {
    pub time: Summary,
    pub cpu: Summary,
    pub rss: Summary,
}

impl SampleSummary {
    /// `None` for an empty sample.
    pub fn of(samples: &[Sample]) -> Option<Self> {
        let of = |f: fn(&Sample) -> f64| Summary::of(&samples.iter().map(f).collect::<Vec<_>>());
        Some(SampleSummary {
            time: of(|s| s.seconds)?,
            cpu: of(|s| s.cpu_seconds)?,
            rss: of(|s| s.rss_mib)?,
        })
    }
}

/// A subject's medians over a baseline's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratios {
    pub base: SampleSummary,
    pub subject: SampleSummary,
    /// Of wall time.
    pub time: f64,
    /// Of the fastest runs' wall times: on this 2-vCPU VM the host sometimes runs both
    /// vCPUs at about 60% speed for a whole run (a 4-thread compute guest, no sharing,
    /// takes 0.6–0.7 s or 1.1 s), which the median of 3 runs does not always hide, while
    /// the fastest run of each side is rarely in that state.
    pub best_time: f64,
    /// Of CPU time: steadier than wall time when the machine is shared, but it also
    /// counts time spent spinning on contended locks.
    pub cpu: f64,
    /// Of peak RSS.
    pub memory: f64,
}

/// A command running `program` with `args`, then the guest and its scale.
pub(crate) fn command(
    program: &Path,
    args: &[&str],
    guest: &Path,
    scale: u64,
    cache: &CompileCache,
) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    // `wasmgrind` always gets its subcommand, `plain-wasmtime` nothing before the guest.
    cache.apply(&mut cmd, !args.is_empty());
    cmd.arg(guest).arg(scale.to_string());
    cmd
}

/// One line describing the machine's state, so readers can judge the noise: cores and
/// the load average when the suite started.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into());
    format!("machine: {cores} cores, load average {load}")
}

/// Formats a number with `decimals` places.
pub(crate) fn num(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

/// Medians of a baseline's and a subject's samples and the subject/baseline ratios;
/// `None` if either side has no sample.
pub(crate) fn ratios(base: &[Sample], subject: &[Sample]) -> Option<Ratios> {
    let b = SampleSummary::of(base)?;
    let s = SampleSummary::of(subject)?;
    Some(Ratios {
        base: b,
        subject: s,
        time: s.time.median / b.time.median,
        best_time: s.time.min / b.time.min,
        cpu: s.cpu.median / b.cpu.median,
        memory: s.rss.median / b.rss.median,
    })
}

/// The outcome of one workload in a suite comparing a baseline with a subject.
#[derive(Debug, Clone)]
pub enum Row {
    /// Measured on both sides.
    Measured {
        workload: Workload,
        base: Vec<Sample>,
        subject: Vec<Sample>,
    },
    /// Not measurable, and why.
    Failed { workload: Workload, reason: String },
}

impl Row {
    /// The rows as [`render_comparison`] takes them (runs shown as `base/subject`).
    pub(crate) fn comparison(rows: &[Row]) -> Vec<ComparisonRow<'_>> {
        rows.iter()
            .map(|row| match row {
                Row::Measured {
                    workload,
                    base,
                    subject,
                } => ComparisonRow::Measured {
                    workload: *workload,
                    runs: format!("{}/{}", base.len(), subject.len()),
                    base,
                    subject,
                },
                Row::Failed { workload, reason } => ComparisonRow::Failed {
                    workload: *workload,
                    reason,
                },
            })
            .collect()
    }
}

/// Measures each of `items` (whose workload `workload_of` gives) with `one`, announcing
/// it on `progress`; an error becomes that workload's failed row, so one broken workload
/// does not abort the suite.
pub(crate) fn measure_rows<T>(
    items: &[T],
    workload_of: impl Fn(&T) -> Workload,
    progress: &mut dyn FnMut(&str),
    mut one: impl FnMut(&T, &mut dyn FnMut(&str)) -> Result<Row, crate::BenchError>,
) -> Vec<Row> {
    items
        .iter()
        .map(|item| {
            let workload = workload_of(item);
            progress(&format!("{} {}", workload.guest, workload.scale));
            one(item, progress).unwrap_or_else(|err| Row::Failed {
                workload,
                reason: err.to_string(),
            })
        })
        .collect()
}

/// One workload's line in a baseline-vs-subject comparison.
pub(crate) enum ComparisonRow<'a> {
    /// Measured on both sides; `runs` is what the `runs` column shows.
    Measured {
        workload: Workload,
        runs: String,
        base: &'a [Sample],
        subject: &'a [Sample],
    },
    /// Could not be measured, and why.
    Failed { workload: Workload, reason: &'a str },
}

/// The pasteable comparison both overhead suites print: `title`, one table row per
/// workload (medians of both sides, titled `(base, subject)`, and their ratios), the geometric
/// means of the ratios, then the reasons of failed workloads.
pub(crate) fn render_comparison(
    title: &str,
    (base, subject): (&str, &str),
    rows: &[ComparisonRow<'_>],
) -> String {
    let mut table = Table::new([
        "workload".to_string(),
        "scale".to_string(),
        "runs".to_string(),
        format!("{base} s"),
        format!("{subject} s"),
        "time x".to_string(),
        "best x".to_string(),
        "cpu x".to_string(),
        format!("{base} MiB"),
        format!("{subject} MiB"),
        "mem x".to_string(),
    ]);
    let (mut times, mut bests, mut cpus, mut mems) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut failures = String::new();
    for row in rows {
        match row {
            ComparisonRow::Measured {
                workload,
                runs,
                base,
                subject,
            } => match ratios(base, subject) {
                Some(r) => {
                    times.push(r.time);
                    bests.push(r.best_time);
                    cpus.push(r.cpu);
                    mems.push(r.memory);
                    table.row([
                        workload.guest.to_string(),
                        workload.scale.to_string(),
                        runs.clone(),
                        num(r.base.time.median, 3),
                        num(r.subject.time.median, 3),
                        num(r.time, 2),
                        num(r.best_time, 2),
                        num(r.cpu, 2),
                        num(r.base.rss.median, 1),
                        num(r.subject.rss.median, 1),
                        num(r.memory, 2),
                    ]);
                }
                None => table.row([workload.guest, "no samples"]),
            },
            ComparisonRow::Failed { workload, reason } => {
                table.row([workload.guest, "FAILED"]);
                failures.push_str(&format!("{}: {reason}\n", workload.guest));
            }
        }
    }
    let mut out = format!("{title}\n\n");
    out.push_str(&table.render());
    match (
        geomean(&times),
        geomean(&bests),
        geomean(&cpus),
        geomean(&mems),
    ) {
        (Some(t), Some(b), Some(c), Some(m)) => out.push_str(&format!(
            "\ngeometric mean of ratios: time {} (best {}), cpu {}, memory {}\n",
            num(t, 2),
            num(b, 2),
            num(c, 2),
            num(m, 2)
        )),
        _ => out.push_str("\ngeometric mean of ratios: - (no measured workload)\n"),
    }
    if !failures.is_empty() {
        out.push_str("\nfailed workloads:\n");
        out.push_str(&failures);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(seconds: &[f64]) -> Vec<Sample> {
        seconds
            .iter()
            .map(|&seconds| Sample {
                seconds,
                cpu_seconds: seconds,
                rss_mib: 10.0,
            })
            .collect()
    }

    /// `time` divides the medians, `best_time` the fastest runs: one slow run of the
    /// subject moves the first, not the second.
    #[test]
    fn best_time_is_fastest_over_fastest() {
        let r = ratios(&samples(&[1.0, 1.6, 1.2]), &samples(&[3.0, 6.0, 4.8])).unwrap();
        assert!((r.time - 4.0).abs() < 1e-9, "{}", r.time);
        assert!((r.best_time - 3.0).abs() < 1e-9, "{}", r.best_time);
    }
}
