//! Errors of recording a trace.

use std::path::PathBuf;

use wasmgrind_trace::TraceError;

/// Everything that can go wrong while recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Creating, writing or finishing the trace file failed (includes RapidBin's
    /// format limits, whose message suggests `--format std`).
    #[error("trace {path}: {source}")]
    Trace {
        /// The trace file.
        path: PathBuf,
        /// What the trace crate reported.
        #[source]
        source: TraceError,
    },
    /// The metadata side file could not be written.
    #[error("trace metadata {path}: {detail}")]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// The Ctrl-C handler could not be installed.
    #[error("installing the Ctrl-C handler: {0}")]
    Interrupt(#[from] ctrlc::Error),
}
