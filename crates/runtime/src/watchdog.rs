//! The watchdog: an OS thread, started when a program spawns its first thread or runs
//! with `--timeout`, that checks every [`CHECK_INTERVAL`] whether the program hangs
//! ([`crate::blocking`]'s rule) or ran past its timeout, and then ends it with an
//! [`Outcome::Hung`] report. It holds the program weakly, so it goes away with it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::blocking::Verdict;
use crate::program::Program;
use crate::Outcome;

/// Period of the checks.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// How long a timeout waits for running threads to post their stacks.
const STACK_GRACE: Duration = Duration::from_millis(500);

/// Starts the program's watchdog unless it runs already.
pub(crate) fn ensure_started(program: &Arc<Program>) {
    program.watchdog.call_once(|| {
        let weak = Arc::downgrade(program);
        let started = Instant::now();
        // If the OS refuses the thread, the program runs without hang detection.
        let _ = std::thread::Builder::new()
            .name("wasmgrind-watchdog".into())
            .spawn(move || watch(weak, started));
    });
}

fn watch(program: Weak<Program>, started: Instant) {
    loop {
        std::thread::sleep(CHECK_INTERVAL);
        let Some(program) = program.upgrade() else {
            return;
        };
        if program.termination.is_ending() {
            return;
        }
        if let Some(limit) = program.timeout {
            if started.elapsed() >= limit {
                return time_out(&program, limit);
            }
        }
        if program.blocking.check() == Verdict::Hung {
            let report = program.blocking.report(None);
            program.termination.terminate(Outcome::Hung(report));
        }
    }
}

/// Interrupts the running threads so each posts its stack (epoch callback), waits a
/// little for them, and ends the program.
fn time_out(program: &Arc<Program>, limit: Duration) {
    program.engine.increment_epoch();
    let asked = Instant::now();
    while !program.blocking.running_stacks_posted() && asked.elapsed() < STACK_GRACE {
        std::thread::sleep(Duration::from_millis(10));
    }
    let report = program.blocking.report(Some(limit.as_millis() as u64));
    program.termination.terminate(Outcome::Hung(report))
}
