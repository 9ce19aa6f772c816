//! Suite `run-overhead` (issue 2): `wasmgrind run` against `plain-wasmtime` on the
//! compute guest. Runs alternate between the two (the order flips every round, so a
//! drift in machine load hits both sides alike) after one warm-up each; the warm-ups
//! also check that both sides print the same output.

use std::path::{Path, PathBuf};

use crate::compile_cache::CompileCache;
use crate::measure::{measure_expecting, Measurement};
use crate::suites::{
    command, num, ratios, render_comparison, ComparisonRow, Ratios, Sample, SampleSummary,
};
use crate::table::Table;
use crate::workloads::Workload;
use crate::BenchError;

/// What to compare.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// The `plain-wasmtime` binary.
    pub plain: &'a Path,
    /// The `wasmgrind` binary.
    pub wasmgrind: &'a Path,
    /// The guest module and its scale.
    pub guest: &'a Path,
    pub workload: Workload,
    /// Measured runs of each side (after the warm-ups).
    pub runs: usize,
    /// The compilation cache both sides use.
    pub cache: &'a CompileCache,
}

/// The measured runs of both sides.
#[derive(Debug, Clone)]
pub struct Report {
    pub workload: Workload,
    pub plain: Vec<Sample>,
    pub run: Vec<Sample>,
}

/// Measures; `progress` receives a line per finished run.
pub fn measure(cfg: &Config<'_>, progress: &mut dyn FnMut(&str)) -> Result<Report, BenchError> {
    let scale = cfg.workload.scale;
    let cache = cfg.cache;
    let plain = || measure_expecting(&mut command(cfg.plain, &[], cfg.guest, scale, cache), 0);
    let run = || {
        let mut cmd = command(cfg.wasmgrind, &["run"], cfg.guest, scale, cache);
        measure_expecting(&mut cmd, 0)
    };

    let warm_plain = plain()?;
    let warm_run = run()?;
    if warm_plain.stdout != warm_run.stdout {
        return Err(BenchError::OutputMismatch {
            what: format!(
                "{} under plain-wasmtime and wasmgrind run",
                cfg.workload.guest
            ),
            left: warm_plain.stdout,
            right: warm_run.stdout,
        });
    }
    progress(&format!(
        "warm-up: plain {:.3} s, run {:.3} s",
        warm_plain.wall.as_secs_f64(),
        warm_run.wall.as_secs_f64()
    ));

    let mut report = Report {
        workload: cfg.workload,
        plain: Vec::with_capacity(cfg.runs),
        run: Vec::with_capacity(cfg.runs),
    };
    let mut record = |side: &str, m: &Measurement, into: &mut Vec<Sample>| {
        progress(&format!(
            "{side:>5}: {:.3} s, {:.1} MiB",
            m.wall.as_secs_f64(),
            m.peak_rss_mib()
        ));
        into.push(Sample::from(m));
    };
    for round in 0..cfg.runs {
        if round % 2 == 0 {
            record("plain", &plain()?, &mut report.plain);
            record("run", &run()?, &mut report.run);
        } else {
            record("run", &run()?, &mut report.run);
            record("plain", &plain()?, &mut report.plain);
        }
    }
    Ok(report)
}

impl Report {
    /// `run` over plain; `None` without samples.
    fn ratios(&self) -> Option<Ratios> {
        ratios(&self.plain, &self.run)
    }

    /// Median `run` time over median plain time; `None` without samples.
    pub fn time_ratio(&self) -> Option<f64> {
        self.ratios().map(|r| r.time)
    }

    /// Median `run` peak RSS over median plain peak RSS; `None` without samples.
    pub fn memory_ratio(&self) -> Option<f64> {
        self.ratios().map(|r| r.memory)
    }

    /// The pasteable result: a table of both sides and the ratios.
    pub fn render(&self) -> String {
        let w = &self.workload;
        let mut out = format!(
            "run-overhead: {} {} ({}), {} runs each, interleaved\n\n",
            w.guest,
            w.scale,
            w.what,
            self.plain.len().max(self.run.len())
        );
        let mut table = Table::new(["side", "median s", "min s", "max s", "median peak RSS MiB"]);
        for (side, samples) in [
            ("plain-wasmtime", &self.plain),
            ("wasmgrind run", &self.run),
        ] {
            match SampleSummary::of(samples) {
                Some(s) => table.row([
                    side.to_string(),
                    num(s.time.median, 3),
                    num(s.time.min, 3),
                    num(s.time.max, 3),
                    num(s.rss.median, 1),
                ]),
                None => table.row([side, "-", "-", "-", "-"]),
            }
        }
        out.push_str(&table.render());
        let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| num(r, 3));
        out.push_str(&format!(
            "\nratio run/plain: time {} (median over median), peak RSS {}\n",
            ratio(self.time_ratio()),
            ratio(self.memory_ratio())
        ));
        if let Some(r) = self.ratios() {
            out.push_str(&format!(
                "ratio of the fastest runs (min over min): {}\n",
                num(r.best_time, 3)
            ));
        }
        out
    }
}

/// Measures several workloads (same procedure as [`measure`] for each); a workload that
/// fails to run gives its error text instead of a report, and the others go on.
pub fn measure_many(
    plain: &Path,
    wasmgrind: &Path,
    workloads: &[(Workload, PathBuf)],
    runs: usize,
    cache: &CompileCache,
    progress: &mut dyn FnMut(&str),
) -> Vec<(Workload, Result<Report, String>)> {
    workloads
        .iter()
        .map(|(workload, guest)| {
            progress(&format!("{} {}", workload.guest, workload.scale));
            let cfg = Config {
                plain,
                wasmgrind,
                guest,
                workload: *workload,
                runs,
                cache,
            };
            (
                *workload,
                measure(&cfg, progress).map_err(|e| e.to_string()),
            )
        })
        .collect()
}

/// One table row per workload (medians and ratios), then the geometric means of the
/// ratios and the errors of workloads that could not be measured.
pub fn render_many(results: &[(Workload, Result<Report, String>)]) -> String {
    let rows: Vec<ComparisonRow<'_>> = results
        .iter()
        .map(|(workload, result)| match result {
            Ok(r) => ComparisonRow::Measured {
                workload: *workload,
                runs: r.run.len().to_string(),
                base: &r.plain,
                subject: &r.run,
            },
            Err(reason) => ComparisonRow::Failed {
                workload: *workload,
                reason,
            },
        })
        .collect();
    render_comparison(
        "run-overhead on the check workloads: wasmgrind run vs plain-wasmtime, medians",
        ("plain", "run"),
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::COMPUTE;

    fn samples(times: &[f64], rss: f64) -> Vec<Sample> {
        times
            .iter()
            .map(|&seconds| Sample {
                seconds,
                cpu_seconds: seconds,
                rss_mib: rss,
            })
            .collect()
    }

    #[test]
    fn ratios_use_medians() {
        let report = Report {
            workload: COMPUTE,
            plain: samples(&[2.0, 2.0, 9.0], 20.0),
            run: samples(&[2.2, 2.1, 2.2], 30.0),
        };
        assert!((report.time_ratio().unwrap() - 1.1).abs() < 1e-12);
        assert!((report.memory_ratio().unwrap() - 1.5).abs() < 1e-12);
        let text = report.render();
        assert!(text.contains("time 1.100"), "{text}");
        assert!(text.contains("peak RSS 1.500"), "{text}");
        assert!(text.contains("| plain-wasmtime |"), "{text}");
        assert!(text.contains("min over min): 1.050"), "{text}");
    }

    #[test]
    fn many_workloads_table_with_geomean_and_failures() {
        use crate::workloads::CHECK_WORKLOADS;
        let results = vec![
            (
                CHECK_WORKLOADS[0],
                Ok(Report {
                    workload: CHECK_WORKLOADS[0],
                    plain: samples(&[1.0, 1.0, 1.0], 20.0),
                    run: samples(&[2.0, 2.0, 2.0], 20.0),
                }),
            ),
            (
                CHECK_WORKLOADS[1],
                Ok(Report {
                    workload: CHECK_WORKLOADS[1],
                    plain: samples(&[1.0], 10.0),
                    run: samples(&[8.0], 40.0),
                }),
            ),
            (CHECK_WORKLOADS[2], Err("ended with signal 9".to_string())),
        ];
        let text = render_many(&results);
        assert!(text.contains(" 2.00 ") && text.contains(" 8.00 "), "{text}");
        assert!(
            text.contains("time 4.00 (best 4.00), cpu 4.00, memory 2.00"),
            "{text}"
        );
        assert!(
            text.contains("bench_atomics: ended with signal 9"),
            "{text}"
        );
    }

    #[test]
    fn empty_report_renders_dashes() {
        let report = Report {
            workload: COMPUTE,
            plain: Vec::new(),
            run: Vec::new(),
        };
        assert!(report.time_ratio().is_none());
        assert!(report.render().contains("time - "));
    }
}
