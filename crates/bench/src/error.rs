//! The benchmark harness's errors, each naming the program or file it concerns.

use std::path::PathBuf;

/// Why a benchmark could not be run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A child process could not be started.
    #[error("starting `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Waiting for a child process failed.
    #[error("waiting for `{program}`")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// A build step (`cargo build ...`) failed.
    #[error("building {what} failed ({status}); run `{command}` to see why")]
    Build {
        what: String,
        status: String,
        command: String,
    },
    /// A file the benchmark needs does not exist.
    #[error("{what} not found at {}", path.display())]
    Missing { what: String, path: PathBuf },
    /// A measured program ended badly, so its timing would be meaningless.
    #[error("`{command}` ended with {status}; stderr:\n{stderr}")]
    ChildFailed {
        command: String,
        status: String,
        stderr: String,
    },
    /// The two sides of a comparison disagreed on the program's output.
    #[error("outputs differ for {what}: {left:?} vs {right:?}")]
    OutputMismatch {
        what: String,
        left: String,
        right: String,
    },
    /// Setting up the benchmark's own files failed.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}
