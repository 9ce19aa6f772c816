//! `wasmgrind run`: execute a module natively, no analysis.

use std::process::ExitCode;
use std::sync::Arc;

use wasmgrind_runtime::{NullMonitor, Run};

use super::exec::ExecArgs;

/// Flags of `wasmgrind run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// Runs the program; the process ends with the program's own exit status.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let module = args.exec.load()?;
    let options = args.exec.options();
    let termination = Arc::new(super::exec::termination(&module, |_| None));
    let outcome = wasmgrind_runtime::run(Run {
        module: &module,
        instrumented: None,
        options: &options,
        monitor: Arc::new(NullMonitor),
        termination: termination.clone(),
    })?;
    termination.terminate(outcome)
}
