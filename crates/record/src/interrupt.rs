//! Ctrl-C: ending a recorded program through its termination, so the trace is finished.

use crate::error::RecordError;

/// Runs `handler` (on a thread of its own) when the process gets SIGINT. The handler
/// is expected to end the process (e.g. `Termination::terminate`); it can be
/// installed once per process.
pub fn on_interrupt(handler: impl FnMut() + Send + 'static) -> Result<(), RecordError> {
    ctrlc::set_handler(handler)?;
    Ok(())
}
