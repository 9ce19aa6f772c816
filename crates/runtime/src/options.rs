//! What a run is configured with: the guest's argv and environment, preopened
//! directories, the entry point and the limits.

use std::path::PathBuf;
use std::time::Duration;

/// A host directory made visible to the guest (`--dir HOST[::GUEST]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirMapping {
    pub host: PathBuf,
    pub guest: String,
}

impl std::str::FromStr for DirMapping {
    type Err = String;

    /// Parses `HOST` or `HOST::GUEST` (wasmtime's syntax); the guest path defaults to the host path.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, guest) = match s.split_once("::") {
            Some((host, guest)) => (host, guest),
            None => (s, s),
        };
        if host.is_empty() || guest.is_empty() {
            return Err(format!("`{s}` is not HOST or HOST::GUEST"));
        }
        Ok(DirMapping {
            host: PathBuf::from(host),
            guest: guest.to_string(),
        })
    }
}

/// Default for `--max-threads`: live threads (the main thread included) at once.
pub const DEFAULT_MAX_THREADS: u32 = 1024;

/// Everything a run needs besides the module.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The guest's argv, `argv[0]` included.
    pub args: Vec<String>,
    /// The guest's environment; nothing is inherited unless the caller copies it in.
    pub env: Vec<(String, String)>,
    pub dirs: Vec<DirMapping>,
    /// Export to call instead of `_start` (required for threadlink modules without `_start`).
    pub invoke: Option<String>,
    /// Most threads alive at once, the main thread included.
    pub max_threads: u32,
    /// Stop the program (with a report of every thread) when it runs longer than this.
    pub timeout: Option<Duration>,
    /// Load the compiled module from wasmtime's compilation cache when it was compiled
    /// before, and store it there otherwise ([`crate::engine::engine_for`]). Off by
    /// default, as in wasmtime's embedding API (the CLI turns it on, as wasmtime's does).
    pub compile_cache: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            args: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            invoke: None,
            max_threads: DEFAULT_MAX_THREADS,
            timeout: None,
            compile_cache: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_mapping_forms() {
        let same: DirMapping = "data".parse().unwrap();
        assert_eq!(
            same,
            DirMapping {
                host: "data".into(),
                guest: "data".into()
            }
        );
        let mapped: DirMapping = "/tmp/x::/sandbox".parse().unwrap();
        assert_eq!(
            mapped,
            DirMapping {
                host: "/tmp/x".into(),
                guest: "/sandbox".into()
            }
        );
        assert!("::guest".parse::<DirMapping>().is_err());
        assert!("host::".parse::<DirMapping>().is_err());
    }
}
