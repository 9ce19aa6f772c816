//! Errors the runtime reports for bad input and set-up failures (never for guest
//! behaviour, which ends as an [`crate::Outcome`]).

use std::path::PathBuf;

/// A problem with the module or the run's configuration, phrased for the user.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a WebAssembly module (neither wasm binary nor text): {reason}")]
    NotWasm { path: PathBuf, reason: String },
    #[error("invalid WebAssembly module: {0}")]
    Invalid(String),
    #[error("the module imports {}, which neither wasi-threads, wasm_threadlink nor WASI preview 1 provides", .0.join(", "))]
    UnknownImports(Vec<String>),
    #[error("wasi-threads module: {0}")]
    WasiThreads(String),
    #[error("wasm_threadlink module: {0}")]
    Threadlink(String),
    #[error("the module has no export `{0}` to run{1}")]
    MissingEntry(String, String),
    #[error("invalid option: {0}")]
    Option(String),
    #[error("cannot open directory `{path}` for --dir: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Wasmtime(String),
}

impl RuntimeError {
    /// Wraps a wasmtime set-up error, keeping its whole cause chain in one line.
    pub(crate) fn wasmtime(context: &str, err: wasmtime::Error) -> Self {
        RuntimeError::Wasmtime(format!("{context}: {err:#}"))
    }
}
