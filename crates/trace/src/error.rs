//! Errors of reading and writing traces.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong reading or writing a trace.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// An I/O operation failed; `context` says which.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A value does not fit in RapidBin's fixed-width fields.
    #[error(
        "{field} {value} at event {event} exceeds the RapidBin limit (must be below {limit}); \
         write the trace with `--format std` instead"
    )]
    ExceedsFormat {
        /// The field: `thread`, `decor` or `location`.
        field: &'static str,
        /// The offending value.
        value: u64,
        /// The exclusive upper bound.
        limit: u64,
        /// Index of the event in the trace.
        event: u64,
    },
    /// A RapidBin file ends before the events its header announces.
    #[error("truncated RapidBin trace: {detail}")]
    Truncated {
        /// What was missing.
        detail: String,
    },
    /// A RapidBin header or event is malformed.
    #[error("malformed RapidBin trace: {detail}")]
    BadRapidBin {
        /// What is wrong.
        detail: String,
    },
    /// A line of an STD trace could not be parsed.
    #[error("STD trace line {line}: {message}")]
    BadStdLine {
        /// 1-based line number.
        line: u64,
        /// What is wrong, quoting the line.
        message: String,
    },
    /// The metadata JSON could not be read or written.
    #[error("metadata {path}: {source}")]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The trace's format could not be recognized.
    #[error("{0}")]
    UnknownFormat(String),
}

impl TraceError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        TraceError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = TraceError> = std::result::Result<T, E>;
