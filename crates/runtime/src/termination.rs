//! Ending a whole program exactly once, from whichever thread ends it.
//!
//! `proc_exit` or a trap in any thread, a threadlink `panic`, or the main thread
//! returning all end every thread. Other threads may be blocked inside wasm (an
//! atomic wait), so, like wasmtime's wasi-threads, the program ends by exiting the
//! process; the finalizer registered by the caller runs first (reports printed,
//! traces flushed), and only once even when two threads end the program at once.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::Outcome;

/// Exit status of a program that trapped, as wasmtime's CLI uses on Unix (128 + SIGABRT).
pub const EXIT_TRAP: i32 = 134;
/// Exit status of a threadlink program that called `panic(errno)`.
pub const EXIT_GUEST_PANIC: i32 = 101;
/// Exit status when the runtime itself had to stop the program (e.g. the thread limit).
pub const EXIT_RUNTIME_ERROR: i32 = 1;
/// Exit status when every thread was blocked for good (a deadlock, or a hang such as a
/// lost wakeup) and wasmgrind stopped the program.
pub const EXIT_DEADLOCK: i32 = 123;
/// Exit status when `--timeout` stopped the program (GNU `timeout`'s status).
pub const EXIT_TIMEOUT: i32 = 124;

/// Decides the process exit status of an outcome; the default finalizer's answer.
pub type Finalizer = Box<dyn FnOnce(&Outcome) -> i32 + Send>;

/// The program-wide "end everything" switch.
pub struct Termination {
    finalizer: Mutex<Option<Finalizer>>,
    diagnostics: Box<dyn Fn(&Outcome) + Send + Sync>,
    /// Set as soon as some thread starts ending the program.
    ending: AtomicBool,
}

/// The exit status of an outcome when nothing else (findings) decides it.
pub fn exit_code_for(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::Exited(code) => *code,
        Outcome::Returned(_) => 0,
        Outcome::Trapped { .. } => EXIT_TRAP,
        Outcome::Panicked { .. } => EXIT_GUEST_PANIC,
        Outcome::Aborted(_) => EXIT_RUNTIME_ERROR,
        Outcome::Hung(report) => match report.kind {
            crate::HangKind::Timeout => EXIT_TIMEOUT,
            crate::HangKind::Deadlock | crate::HangKind::AllBlocked => EXIT_DEADLOCK,
        },
    }
}

impl Default for Termination {
    fn default() -> Self {
        let print = |outcome: &Outcome| outcome.print_diagnostic(&mut std::io::stderr());
        Termination::new(
            Box::new(move |outcome| {
                print(outcome);
                exit_code_for(outcome)
            }),
            Box::new(print),
        )
    }
}

impl Termination {
    /// `finalizer` runs once, on the thread that ends the program, and returns the exit
    /// status; `diagnostics` prints outcomes that end one thread but not the program
    /// (a trapped threadlink thread).
    pub fn new(finalizer: Finalizer, diagnostics: Box<dyn Fn(&Outcome) + Send + Sync>) -> Self {
        Termination {
            finalizer: Mutex::new(Some(finalizer)),
            diagnostics,
            ending: AtomicBool::new(false),
        }
    }

    /// Whether the program is already ending (the watchdog then stays quiet: threads
    /// left blocked by an exit are not a hang).
    pub fn is_ending(&self) -> bool {
        self.ending.load(Ordering::SeqCst)
    }

    /// Prints a thread's end that does not end the program.
    pub fn report(&self, outcome: &Outcome) {
        (self.diagnostics)(outcome);
    }

    /// Runs the finalizer and exits the process. A second caller (another thread ending
    /// the program at the same moment) blocks until the process is gone.
    pub fn terminate(&self, outcome: Outcome) -> ! {
        self.ending.store(true, Ordering::SeqCst);
        let mut guard = self
            .finalizer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Only a finalizer that panicked leaves this empty; then another thread is
        // already on its way out: wait for the exit rather than race it.
        let Some(finalizer) = guard.take() else {
            drop(guard);
            loop {
                std::thread::park();
            }
        };
        let code = finalizer(&outcome);
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        std::process::exit(code)
    }
}
