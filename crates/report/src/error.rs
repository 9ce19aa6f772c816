//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while symbolizing or writing findings.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The module given to the symbolizer is not a valid wasm binary.
    #[error("cannot read the wasm module for symbolization: {0}")]
    Wasm(#[from] wasmparser::BinaryReaderError),
    /// The module's `.debug_*` sections could not be parsed.
    #[error("cannot read the DWARF debug info of the wasm module: {0}")]
    Dwarf(#[from] gimli::Error),
    /// A file (e.g. a suppressions file) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line of a suppressions file is malformed.
    #[error("{file}:{line}: {message}")]
    Suppression {
        /// The suppressions file (or the name given for in-memory text).
        file: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Writing a report to the caller's output failed.
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
    /// Serializing a finding to JSON failed.
    #[error("cannot serialize the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}
