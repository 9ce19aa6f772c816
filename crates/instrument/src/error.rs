//! The error type of the instrumentation pass.

use thiserror::Error;

/// Why a module could not be instrumented.
///
/// Every variant names what was wrong so the user can act on it; bad input never panics.
#[derive(Debug, Error)]
pub enum InstrumentError {
    /// The input is not a well-formed (decodable) core wasm module.
    #[error("cannot parse the input module at byte offset {offset:#x}: {source}")]
    Parse {
        /// Module-relative byte offset where decoding failed.
        offset: usize,
        /// The decoder's error.
        #[source]
        source: wasmparser::BinaryReaderError,
    },
    /// The input decodes but uses something the pass cannot instrument faithfully.
    #[error("unsupported input: {0}")]
    Unsupported(String),
    /// The options are inconsistent (for example a buffer too small to hold a record).
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The input already exports a name the pass needs for its own exports.
    #[error("the input module already exports `{0}`, which wasmgrind reserves")]
    ExportClash(String),
    /// Re-encoding a section of the input failed.
    #[error("cannot re-encode the {what} of the input module: {message}")]
    Reencode {
        /// Which part was being re-encoded.
        what: &'static str,
        /// The re-encoder's explanation.
        message: String,
    },
    /// The instrumented output failed to parse back (a bug in the pass, reported rather than hidden).
    #[error("internal error: the instrumented module does not parse back: {0}")]
    Internal(String),
}

impl From<wasmparser::BinaryReaderError> for InstrumentError {
    fn from(source: wasmparser::BinaryReaderError) -> Self {
        InstrumentError::Parse {
            offset: source.offset(),
            source,
        }
    }
}

impl InstrumentError {
    /// Wraps an error from `wasm_encoder::reencode` with the part of the module it concerned.
    pub(crate) fn reencode(
        what: &'static str,
        err: wasm_encoder::reencode::Error<std::convert::Infallible>,
    ) -> Self {
        match err {
            wasm_encoder::reencode::Error::ParseError(e) => e.into(),
            other => InstrumentError::Reencode {
                what,
                message: other.to_string(),
            },
        }
    }
}
