//! Runs one child process and measures its wall time and peak resident set size.
//!
//! Peak RSS comes from the kernel's accounting of that very child: we reap it ourselves
//! with `wait4(pid, ..)`, whose `rusage.ru_maxrss` is the child's high-water mark in KiB
//! (Linux). This is exact per child (no sampling), unlike polling `/proc/<pid>/status`,
//! and unlike `getrusage(RUSAGE_CHILDREN)` it is not a maximum over all children so far.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::BenchError;

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Normal exit with this status.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
}

impl fmt::Display for ExitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitKind::Code(c) => write!(f, "exit status {c}"),
            ExitKind::Signal(s) => write!(f, "signal {s}"),
        }
    }
}

/// What one run of a child cost, and what it printed.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// From just before `spawn` to the moment the child was reaped.
    pub wall: Duration,
    /// CPU time the child used, user plus system, over all its threads.
    pub cpu: Duration,
    /// Peak resident set size of the child, in KiB.
    pub peak_rss_kib: u64,
    /// How it ended.
    pub exit: ExitKind,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Measurement {
    /// Peak RSS in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// A printable form of a command line, for error messages.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion with stdin closed and stdout/stderr captured; measures it.
pub fn measure(cmd: &mut Command) -> Result<Measurement, BenchError> {
    let program = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|source| BenchError::Spawn {
        program: program.clone(),
        source,
    })?;
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| BenchError::Wait {
        program: program.clone(),
        source: std::io::Error::other("pid out of range"),
    })?;
    let reaped = wait4(pid);
    let wall = start.elapsed();
    // The child is reaped; `child` must not be waited on again (dropping it does not wait).
    drop(child);
    let (status, rusage) = reaped.map_err(|source| BenchError::Wait {
        program: program.clone(),
        source,
    })?;
    let exit = if libc::WIFEXITED(status) {
        ExitKind::Code(libc::WEXITSTATUS(status))
    } else {
        ExitKind::Signal(libc::WTERMSIG(status))
    };
    Ok(Measurement {
        wall,
        cpu: duration_of(rusage.ru_utime) + duration_of(rusage.ru_stime),
        // ru_maxrss is in KiB on Linux and never negative.
        peak_rss_kib: u64::try_from(rusage.ru_maxrss).unwrap_or(0),
        exit,
        stdout: stdout.map(join_drain).unwrap_or_default(),
        stderr: stderr.map(join_drain).unwrap_or_default(),
    })
}

/// Like [`measure`], but an exit status other than `expected` is an error carrying the
/// child's stderr.
pub fn measure_expecting(cmd: &mut Command, expected: i32) -> Result<Measurement, BenchError> {
    let m = measure(cmd)?;
    if m.exit != ExitKind::Code(expected) {
        return Err(BenchError::ChildFailed {
            command: describe(cmd),
            status: m.exit.to_string(),
            stderr: tail(&m.stderr, 40),
        });
    }
    Ok(m)
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A `timeval` of `rusage` as a duration (negative fields, which the kernel never
/// reports, count as 0).
fn duration_of(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
        + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// Reaps `pid`, returning its wait status and resource usage; retries on EINTR.
fn wait4(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero is valid.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own un-reaped child (std's `Child` never waited on it);
        // `status` and `rusage` are valid, exclusively borrowed out-pointers for the call.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if r == pid {
            return Ok((status, rusage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Reads a pipe to its end on a new thread.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error just truncates the captured text; the timing is unaffected.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join_drain(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn captures_output_and_exit_status() {
        let m = measure(&mut sh("echo out; echo err >&2; exit 3")).unwrap();
        assert_eq!(m.exit, ExitKind::Code(3));
        assert_eq!(m.stdout, "out\n");
        assert_eq!(m.stderr, "err\n");
    }

    #[test]
    fn reports_death_by_signal() {
        let m = measure(&mut sh("kill -9 $$")).unwrap();
        assert_eq!(m.exit, ExitKind::Signal(libc::SIGKILL));
    }

    #[test]
    fn peak_rss_sees_a_child_touching_memory() {
        // `dd bs=64M` allocates and fills one 64 MiB buffer: its RSS must show it.
        let small = measure(&mut sh("exec dd if=/dev/zero of=/dev/null bs=1k count=1")).unwrap();
        let big = measure(&mut sh("exec dd if=/dev/zero of=/dev/null bs=64M count=1")).unwrap();
        assert_eq!(big.exit, ExitKind::Code(0), "{}", big.stderr);
        assert!(small.peak_rss_kib > 0);
        assert!(
            big.peak_rss_kib >= small.peak_rss_kib + 60 * 1024,
            "64 MiB buffer not seen: {} KiB vs {} KiB",
            big.peak_rss_kib,
            small.peak_rss_kib
        );
    }

    /// A lower bound only (the child sleeps at least that long): not a speed assertion.
    #[test]
    fn wall_time_covers_the_child() {
        let m = measure(&mut sh("sleep 0.2")).unwrap();
        assert!(m.wall >= Duration::from_millis(200), "{:?}", m.wall);
    }

    #[test]
    fn cpu_time_counts_work_not_waiting() {
        // Copying 256 MiB costs CPU time; sleeping costs none (the kernel accounts in
        // ticks, so a sleep may show a tick or two, never the 200 ms).
        let busy = measure(&mut sh("exec dd if=/dev/zero of=/dev/null bs=1M count=256")).unwrap();
        let idle = measure(&mut sh("sleep 0.2")).unwrap();
        assert!(busy.cpu > Duration::ZERO, "{:?}", busy.cpu);
        assert!(idle.cpu < Duration::from_millis(100), "{:?}", idle.cpu);
    }

    #[test]
    fn unexpected_status_is_an_error_with_stderr() {
        let err = measure_expecting(&mut sh("echo boom >&2; exit 1"), 0).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("exit status 1") && text.contains("boom"),
            "{text}"
        );
        assert!(measure_expecting(&mut sh("exit 66"), 66).is_ok());
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = measure(&mut Command::new("/nonexistent/program")).unwrap_err();
        assert!(matches!(err, BenchError::Spawn { .. }), "{err}");
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
