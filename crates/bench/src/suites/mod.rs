//! The benchmark suites. Each measures, then returns a report whose `render` gives the
//! pasteable text, so formatting is testable without running anything.

pub mod check_overhead;
pub mod run_overhead;

use std::path::Path;
use std::process::Command;

use crate::measure::Measurement;
use crate::stats::Summary;

/// One measured run, reduced to what the reports use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Wall time in seconds.
    pub seconds: f64,
    /// Peak RSS in MiB.
    pub rss_mib: f64,
}

impl From<&Measurement> for Sample {
    fn from(m: &Measurement) -> Self {
        Sample {
            seconds: m.wall.as_secs_f64(),
            rss_mib: m.peak_rss_mib(),
        }
    }
}

/// Median/min/max of the wall times and of the peak RSS of some samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleSummary {
    pub time: Summary,
    pub rss: Summary,
}

impl SampleSummary {
    /// `None` for an empty sample.
    pub fn of(samples: &[Sample]) -> Option<Self> {
        let time: Vec<f64> = samples.iter().map(|s| s.seconds).collect();
        let rss: Vec<f64> = samples.iter().map(|s| s.rss_mib).collect();
        Some(SampleSummary {
            time: Summary::of(&time)?,
            rss: Summary::of(&rss)?,
        })
    }
}

/// A command running `program` with `args`, then the guest and its scale.
pub(crate) fn command(program: &Path, args: &[&str], guest: &Path, scale: u64) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).arg(guest).arg(scale.to_string());
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
