//! The errors [`crate::threadify`] reports, one clear line each.

use thiserror::Error;

/// Why a module could not be threadified.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ThreadifyError {
    /// The input is not a well-formed wasm module (bad magic, truncated, malformed section).
    #[error("not a valid wasm module: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    /// The input is a component or another non-module wasm binary.
    #[error("not a core wasm module (components are not supported)")]
    NotAModule,
    /// The module imports nothing from `wasm_threadlink`.
    #[error("not a wasm_threadlink module: it imports nothing from module `wasm_threadlink`")]
    NotThreadlink,
    /// The module already carries the threadify start routine.
    #[error("module is already threadified (it exports `__wasmgrind_thread_destroy`)")]
    AlreadyThreadified,
    /// The module has no memory at all.
    #[error("module has no linear memory")]
    NoMemory,
    /// Memory 0 is not shared, so instances cannot share it.
    #[error("memory 0 is not shared; build with `-C target-feature=+atomics,+bulk-memory,+mutable-globals`")]
    MemoryNotShared,
    /// Memory 0 is a 64-bit or custom-page-size memory.
    #[error("memory 0 is {0}, which threadify does not support")]
    UnsupportedMemory(&'static str),
    /// The module has no room to reserve threadify's page (memory maximum reached).
    #[error("memory 0 cannot grow by the one page threadify reserves (maximum {0} pages)")]
    NoRoomForReservedPage(u64),
    /// A required export is missing.
    #[error("missing function export `{0}`")]
    MissingExport(&'static str),
    /// A required linker symbol (global or function) could not be found.
    #[error("missing linker symbol `{0}`: keep the name section (`-C strip=none`) or export it")]
    MissingSymbol(&'static str),
    /// A function the patch calls has the wrong signature.
    #[error("`{name}` has signature {found}, expected {expected}")]
    BadSignature {
        /// The function's symbol name.
        name: &'static str,
        /// The signature threadify needs.
        expected: String,
        /// The signature the module has.
        found: String,
    },
    /// A linker global has the wrong type.
    #[error("global `{name}` must be {expected}")]
    BadGlobal {
        /// The global's symbol name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The requested shadow stack size is unusable.
    #[error("invalid thread stack size {0}: must be a positive multiple of 16 below 2 GiB")]
    InvalidStackSize(u32),
    /// Re-encoding a section failed.
    #[error("could not re-encode the module: {0}")]
    Reencode(String),
}

impl From<wasm_encoder::reencode::Error<std::convert::Infallible>> for ThreadifyError {
    fn from(err: wasm_encoder::reencode::Error<std::convert::Infallible>) -> Self {
        match err {
            wasm_encoder::reencode::Error::ParseError(e) => ThreadifyError::Parse(e),
            other => ThreadifyError::Reencode(other.to_string()),
        }
    }
}
