//! `wasmgrind run`: execute a module natively, no analysis.

use std::process::ExitCode;
use std::sync::Arc;

use wasmgrind_runtime::{NullMonitor, Run};

use super::exec::ExecArgs;

/// Flags of `wasmgrind run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the module exactly as given, without deadlock and hang detection: the waits
    /// and lock-word atomics it intercepts cost a host call each, which lock-heavy code
    /// notices (up to ~4x). `--timeout` still applies.
    #[arg(long)]
    pub no_deadlock_detection: bool,
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Runs the program; the process ends with the program's own exit status (123 for a
/// deadlock or hang, 124 for `--timeout`).
///
/// The module runs with only its waits, notifies and lock-word atomics instrumented
/// (`Scope::Blocking`), so the runtime sees what blocked threads wait on and who holds
/// the locks, at no cost to code that does not synchronize (lock-heavy code pays a
/// host call per lock operation; `--no-deadlock-detection` runs the module as given).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module = args.exec.load()?;
    let options = args.exec.options();
    let termination = Arc::new(super::exec::termination(&module, |_| None));
    let scope = wasmgrind_instrument::Options {
        scope: wasmgrind_instrument::Scope::Blocking,
        // Nothing is logged in this scope: the smallest buffer will do.
        buffer_bytes: wasmgrind_instrument::RECORD_SIZE,
        ..Default::default()
    };
    // A module the pass does not support still runs, without deadlock detection.
    let instrumented = if args.no_deadlock_detection {
        None
    } else {
        wasmgrind_instrument::instrument(&module.prepared, &scope).ok()
    };
    let outcome = wasmgrind_runtime::run(Run {
        module: &module,
        instrumented: instrumented.as_ref(),
        options: &options,
        monitor: Arc::new(NullMonitor),
        termination: termination.clone(),
    })?;
    termination.terminate(outcome)
}
