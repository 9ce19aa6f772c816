//! Suite `tsan-reference`: ThreadSanitizer's own overhead on the check workloads, the
//! yardstick `check-overhead` is judged by. The same guest sources are built natively
//! twice with the nightly toolchain and the guests' release profile, once plain and
//! once with `-Zsanitizer=thread` (std rebuilt with it, so it reports no false races),
//! and each workload runs alternately as the two binaries at the same scale. A TSan
//! run must exit 0 (no report) and print what the plain one printed.

use std::path::Path;
use std::process::Command;

use crate::measure::{measure_expecting, Measurement};
use crate::suites::{measure_rows, render_comparison, Row, Sample};
use crate::workloads::Workload;
use crate::BenchError;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Config<'a> {
    /// Directory of the plain native workload binaries.
    pub plain: &'a Path,
    /// Directory of the ThreadSanitizer builds of the same workloads.
    pub tsan: &'a Path,
    pub workloads: Vec<Workload>,
    /// Measured runs of each side per workload.
    pub runs: usize,
}

/// All workloads' rows (`base` is the plain binary, `subject` the TSan one).
#[derive(Debug, Clone)]
pub struct Report {
    pub rows: Vec<Row>,
}

/// Measures every workload; `progress` receives a line per finished run.
pub fn measure_all(cfg: &Config<'_>, progress: &mut dyn FnMut(&str)) -> Report {
    Report {
        rows: measure_rows(
            &cfg.workloads,
            |w| *w,
            progress,
            |w, progress| measure_one(cfg, *w, progress),
        ),
    }
}

fn measure_one(
    cfg: &Config<'_>,
    workload: Workload,
    progress: &mut dyn FnMut(&str),
) -> Result<Row, BenchError> {
    let run = |dir: &Path| -> Result<Measurement, BenchError> {
        let mut cmd = Command::new(dir.join(workload.guest));
        cmd.arg(workload.scale.to_string());
        measure_expecting(&mut cmd, 0)
    };
    let (mut base, mut subject) = (Vec::new(), Vec::new());
    for round in 0..cfg.runs.max(1) {
        // The order flips every round, so a change in the machine's load hits both.
        let (p, t) = if round % 2 == 0 {
            let p = run(cfg.plain)?;
            (p, run(cfg.tsan)?)
        } else {
            let t = run(cfg.tsan)?;
            (run(cfg.plain)?, t)
        };
        if p.stdout != t.stdout {
            return Err(BenchError::OutputMismatch {
                what: format!("{} (plain vs TSan)", workload.guest),
                left: p.stdout,
                right: t.stdout,
            });
        }
        progress(&format!(
            "  plain: {:.3} s, tsan: {:.3} s, {:.1} MiB",
            p.wall.as_secs_f64(),
            t.wall.as_secs_f64(),
            t.peak_rss_mib()
        ));
        base.push(Sample::from(&p));
        subject.push(Sample::from(&t));
    }
    Ok(Row::Measured {
        workload,
        base,
        subject,
    })
}

impl Report {
    /// The pasteable result, in `check-overhead`'s layout.
    pub fn render(&self) -> String {
        render_comparison(
            "tsan-reference: ThreadSanitizer vs the plain native build of the same \
             workloads, medians (runs = plain/tsan)",
            ("native", "tsan"),
            &Row::comparison(&self.rows),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::CHECK_WORKLOADS;

    fn s(seconds: f64, rss_mib: f64) -> Sample {
        Sample {
            seconds,
            cpu_seconds: seconds,
            rss_mib,
        }
    }

    #[test]
    fn table_shows_tsan_over_native() {
        let report = Report {
            rows: vec![
                Row::Measured {
                    workload: CHECK_WORKLOADS[1],
                    base: vec![s(0.5, 2.0), s(0.5, 2.0)],
                    subject: vec![s(5.0, 30.0), s(5.0, 30.0)],
                },
                Row::Failed {
                    workload: CHECK_WORKLOADS[2],
                    reason: "exit status 66".into(),
                },
            ],
        };
        let text = report.render();
        assert!(text.contains("| native s | tsan s |"), "{text}");
        assert!(text.contains("| bench_locks "), "{text}");
        assert!(
            text.contains(" 10.00 ") && text.contains(" 15.00 "),
            "{text}"
        );
        assert!(
            text.contains("time 10.00 (best 10.00), cpu 10.00, memory 15.00"),
            "{text}"
        );
        assert!(text.contains("bench_atomics: exit status 66"), "{text}");
    }

    #[test]
    fn a_failing_binary_is_a_failed_row_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let report = measure_all(
            &Config {
                plain: dir.path(),
                tsan: dir.path(),
                workloads: vec![CHECK_WORKLOADS[0]],
                runs: 1,
            },
            &mut |_| {},
        );
        match &report.rows[..] {
            [Row::Failed { workload, reason }] => {
                assert_eq!(workload.guest, "bench_array");
                assert!(reason.contains("starting"), "{reason}");
            }
            rows => panic!("expected one failed row, got {rows:?}"),
        }
    }
}
