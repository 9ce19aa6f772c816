//! Suite `check-overhead` (issue 3): `wasmgrind check` against `wasmgrind run` on the
//! race-free workloads. Per workload: one warm-up `run` (and, with a warm compile cache,
//! a `check` at scale 1, which compiles the same instrumented module), then `run` and
//! `check` alternately (when `check` is slow, its rounds stop at a time budget and the
//! remaining `run`s follow on their own). `check` must exit 0 (no findings) and print what `run` printed; a
//! workload where it does not is reported as such and left out of the means.

use std::path::{Path, PathBuf};

use crate::compile_cache::CompileCache;
use crate::measure::{measure, measure_expecting, tail, ExitKind, Measurement};
use crate::stats::geomean;
use crate::suites::{command, measure_rows, ratios, render_comparison, Row, Sample};
use crate::workloads::Workload;
use crate::BenchError;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config<'a> {
    /// The `wasmgrind` binary.
    pub wasmgrind: &'a Path,
    /// Each workload with its module.
    pub workloads: Vec<(Workload, PathBuf)>,
    /// Measured runs of each side per workload.
    pub runs: usize,
    /// Seconds of `check` time per workload after which no further rounds start (the
    /// first round always runs), keeping the suite's total bounded if `check` is slow.
    pub check_budget_seconds: f64,
    /// The compilation cache both sides use.
    pub cache: &'a CompileCache,
}

/// All workloads' rows (`base` is `run`, `subject` is `check`; a workload fails when
/// `check` reported findings, failed, or disagreed with `run`).
#[derive(Debug, Clone)]
pub struct Report {
    pub rows: Vec<Row>,
}

/// Measures every workload; `progress` receives a line per finished run.
pub fn measure_all(cfg: &Config<'_>, progress: &mut dyn FnMut(&str)) -> Report {
    Report {
        rows: measure_rows(
            &cfg.workloads,
            |(w, _)| *w,
            progress,
            |(w, module), progress| measure_one(cfg, *w, module, progress),
        ),
    }
}

fn measure_one(
    cfg: &Config<'_>,
    workload: Workload,
    module: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Row, BenchError> {
    let run = || {
        measure_expecting(
            &mut command(cfg.wasmgrind, &["run"], module, workload.scale, cfg.cache),
            0,
        )
    };
    let check = || -> Result<Result<Measurement, String>, BenchError> {
        let m = measure(&mut command(
            cfg.wasmgrind,
            &["check"],
            module,
            workload.scale,
            cfg.cache,
        ))?;
        Ok(match m.exit {
            ExitKind::Code(0) => Ok(m),
            other => Err(format!(
                "check ended with {other} on a race-free program:\n{}",
                tail(&m.stderr, 20)
            )),
        })
    };
    let warm = run()?;
    progress(&format!("  warm-up run: {:.3} s", warm.wall.as_secs_f64()));
    if matches!(cfg.cache, CompileCache::Warm(_)) {
        // Only its compiled module matters, which the scale does not change; the
        // measured rounds judge what `check` reports.
        let primed = measure(&mut command(
            cfg.wasmgrind,
            &["check"],
            module,
            1,
            cfg.cache,
        ))?;
        progress(&format!(
            "  warm-up check (scale 1): {:.3} s",
            primed.wall.as_secs_f64()
        ));
    }

    let (mut runs, mut checks) = (Vec::new(), Vec::new());
    let mut check_seconds = 0.0;
    for round in 0..cfg.runs.max(1) {
        if round > 0 && check_seconds >= cfg.check_budget_seconds {
            progress(&format!("  check time budget used up after {round} rounds"));
            break;
        }
        if round % 2 == 0 {
            runs.push(timed_run(&run, progress)?);
        }
        let m = match check()? {
            Ok(m) => m,
            Err(reason) => return Ok(Row::Failed { workload, reason }),
        };
        if m.stdout != warm.stdout {
            return Ok(Row::Failed {
                workload,
                reason: format!(
                    "check printed {:?}, run printed {:?}",
                    tail(&m.stdout, 3),
                    tail(&warm.stdout, 3)
                ),
            });
        }
        progress(&format!(
            "  check: {:.3} s, {:.1} MiB",
            m.wall.as_secs_f64(),
            m.peak_rss_mib()
        ));
        check_seconds += m.wall.as_secs_f64();
        checks.push(Sample::from(&m));
        if round % 2 == 1 {
            runs.push(timed_run(&run, progress)?);
        }
    }
    // `run` is cheap: when the budget cut the rounds short, still take `cfg.runs` of it
    // so the ratio's denominator is a median, not one sample.
    while runs.len() < cfg.runs {
        runs.push(timed_run(&run, progress)?);
    }
    Ok(Row::Measured {
        workload,
        base: runs,
        subject: checks,
    })
}

/// One measured `run`, reported to `progress`.
fn timed_run(
    run: &dyn Fn() -> Result<Measurement, BenchError>,
    progress: &mut dyn FnMut(&str),
) -> Result<Sample, BenchError> {
    let m = run()?;
    progress(&format!(
        "    run: {:.3} s, {:.1} MiB",
        m.wall.as_secs_f64(),
        m.peak_rss_mib()
    ));
    Ok(Sample::from(&m))
}

impl Report {
    /// Geometric means of the time ratios and of the memory ratios over measured rows.
    pub fn geomeans(&self) -> Option<(f64, f64)> {
        let (times, mems): (Vec<f64>, Vec<f64>) = self
            .rows
            .iter()
            .filter_map(|row| match row {
                Row::Measured { base, subject, .. } => {
                    ratios(base, subject).map(|r| (r.time, r.memory))
                }
                Row::Failed { .. } => None,
            })
            .unzip();
        Some((geomean(&times)?, geomean(&mems)?))
    }

    /// The pasteable result: one table row per workload, then the geometric means and
    /// the reasons of any failed rows.
    pub fn render(&self) -> String {
        render_comparison(
            "check-overhead: wasmgrind check vs wasmgrind run, medians (runs = run/check)",
            ("run", "check"),
            &Row::comparison(&self.rows),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::CHECK_WORKLOADS;

    /// A sample whose CPU time is twice its wall time.
    fn s(seconds: f64, rss_mib: f64) -> Sample {
        Sample {
            seconds,
            cpu_seconds: 2.0 * seconds,
            rss_mib,
        }
    }

    #[test]
    fn table_has_ratios_and_geomeans() {
        let report = Report {
            rows: vec![
                Row::Measured {
                    workload: CHECK_WORKLOADS[0],
                    base: vec![s(1.0, 10.0), s(1.0, 10.0), s(5.0, 10.0)],
                    subject: vec![s(2.0, 40.0), s(2.0, 40.0), s(2.0, 40.0)],
                },
                Row::Measured {
                    workload: CHECK_WORKLOADS[1],
                    base: vec![s(1.0, 10.0)],
                    subject: vec![s(8.0, 10.0)],
                },
                Row::Failed {
                    workload: CHECK_WORKLOADS[2],
                    reason: "check ended with exit status 66".into(),
                },
            ],
        };
        let (t, m) = report.geomeans().unwrap();
        assert!((t - 4.0).abs() < 1e-9, "{t}");
        assert!((m - 2.0).abs() < 1e-9, "{m}");
        let text = report.render();
        assert!(text.contains("| bench_array "), "{text}");
        assert!(text.contains(" 2.00 "), "time ratio 2.00 missing: {text}");
        assert!(text.contains(" 4.00 "), "memory ratio 4.00 missing: {text}");
        // Best: 2.0 / 1.0 and 8.0 / 1.0, as the medians here.
        assert!(
            text.contains("time 4.00 (best 4.00), cpu 4.00, memory 2.00"),
            "{text}"
        );
        assert!(text.contains("FAILED"), "{text}");
        assert!(
            text.contains("bench_atomics: check ended with exit status 66"),
            "{text}"
        );
    }

    #[test]
    fn no_measured_rows_means_no_geomean() {
        let report = Report {
            rows: vec![Row::Failed {
                workload: CHECK_WORKLOADS[0],
                reason: "x".into(),
            }],
        };
        assert!(report.geomeans().is_none());
        assert!(report.render().contains("no measured workload"));
    }
}
