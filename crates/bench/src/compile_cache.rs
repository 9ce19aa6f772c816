//! Which wasmtime compilation cache the measured programs use. `wasmgrind` (like the
//! wasmtime CLI) and `plain-wasmtime` load a module compiled before from the cache, so
//! whether a run compiles depends on what ran earlier; the suites make it explicit:
//!
//! - [`CompileCache::Warm`] (the default): every measured program shares one cache in a
//!   directory of its own (not the user's), which the warm-ups fill, so every measured
//!   run loads its module as a re-run does.
//! - [`CompileCache::Cold`]: no cache; every run compiles its module, as a first run
//!   does (needs a `wasmgrind` with `--no-cache`).

use std::process::Command;

/// How the measured programs find compiled code.
#[derive(Debug)]
pub enum CompileCache {
    /// One shared cache under this directory, removed when the value is dropped.
    Warm(tempfile::TempDir),
    /// No cache.
    Cold,
}

/// Environment variable that makes `plain-wasmtime` compile without the cache.
pub const PLAIN_NO_CACHE_ENV: &str = "PLAIN_WASMTIME_NO_CACHE";

impl CompileCache {
    /// A fresh shared cache (see [`CompileCache::Warm`]).
    pub fn warm() -> std::io::Result<Self> {
        Ok(CompileCache::Warm(tempfile::tempdir()?))
    }

    /// Points `cmd`, a `wasmgrind` command whose subcommand is already its first
    /// argument (`wasmgrind` is true) or a `plain-wasmtime` one, at this cache.
    pub fn apply(&self, cmd: &mut Command, wasmgrind: bool) {
        match self {
            // wasmtime's cache and its configuration file follow the XDG directories.
            CompileCache::Warm(dir) => {
                cmd.env("XDG_CACHE_HOME", dir.path().join("cache"));
                cmd.env("XDG_CONFIG_HOME", dir.path().join("config"));
            }
            CompileCache::Cold if wasmgrind => {
                cmd.arg("--no-cache");
            }
            CompileCache::Cold => {
                cmd.env(PLAIN_NO_CACHE_ENV, "1");
            }
        }
    }

    /// A line saying how modules were compiled, for the top of a report.
    pub fn describe(&self) -> &'static str {
        match self {
            CompileCache::Warm(_) => {
                "compile cache: warm (every measured run loads its module from a cache \
                 the warm-ups filled, as a re-run does; --cold-compile for first runs)"
            }
            CompileCache::Cold => {
                "compile cache: off (every run compiles its module, as a first run does)"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(cmd: &Command, key: &str) -> Option<String> {
        cmd.get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn warm_shares_one_private_cache_and_cold_turns_it_off() {
        let warm = CompileCache::warm().unwrap();
        let (mut a, mut b) = (Command::new("wasmgrind"), Command::new("plain"));
        warm.apply(&mut a, true);
        warm.apply(&mut b, false);
        let cache = env_of(&a, "XDG_CACHE_HOME").unwrap();
        assert_eq!(env_of(&b, "XDG_CACHE_HOME").unwrap(), cache);
        assert!(cache.starts_with(&*std::env::temp_dir().to_string_lossy()));
        assert!(a.get_args().next().is_none(), "no flag needed when warm");

        let mut cold = Command::new("wasmgrind");
        cold.arg("check");
        CompileCache::Cold.apply(&mut cold, true);
        let args: Vec<_> = cold.get_args().collect();
        assert_eq!(args, ["check", "--no-cache"]);
        let mut plain = Command::new("plain");
        CompileCache::Cold.apply(&mut plain, false);
        assert_eq!(env_of(&plain, PLAIN_NO_CACHE_ENV).as_deref(), Some("1"));
    }
}
