//! The host side of the two thread ABIs.

pub(crate) mod threadlink;
pub(crate) mod wasi_threads;

use std::sync::Arc;

use crate::program::Program;
use crate::threads::Slot;
use crate::{Outcome, ThreadId};

/// Reserves a thread id, or ends the program: hitting `--max-threads` is reported
/// clearly instead of surfacing as a guest's own spawn-failure panic.
pub(crate) fn reserve_or_abort(program: &Arc<Program>, parent: ThreadId, joinable: bool) -> Slot {
    match program.threads.reserve(joinable) {
        Some(slot) => slot,
        None => program.termination.terminate(Outcome::Aborted(format!(
            "thread {parent} tried to spawn a thread while {} threads were alive, the limit (raise it with --max-threads)",
            program.threads.max_live()
        ))),
    }
}

/// Ends the program when the OS refuses a thread.
pub(crate) fn os_spawn_failed(program: &Arc<Program>, err: std::io::Error) -> ! {
    program.termination.terminate(Outcome::Aborted(format!(
        "the OS could not start a thread: {err}"
    )))
}
