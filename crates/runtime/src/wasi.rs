//! The one WASI preview 1 context of a program. `wasi-common`'s `WasiCtx` is an `Arc`
//! over tables behind locks, so every thread's store holds a clone of the same context:
//! a file opened by one thread is usable by every other.

use wasi_common::sync::{ambient_authority, Dir, WasiCtxBuilder};
use wasi_common::WasiCtx;

use crate::{RunOptions, RuntimeError};

/// Builds the shared context: inherited stdio, the given argv and environment (nothing
/// inherited from the host unless the caller put it in `opts.env`), preopened dirs.
pub fn build_ctx(opts: &RunOptions) -> Result<WasiCtx, RuntimeError> {
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder
        .args(&opts.args)
        .map_err(|e| RuntimeError::Option(format!("program arguments: {e}")))?;
    builder
        .envs(&opts.env)
        .map_err(|e| RuntimeError::Option(format!("environment: {e}")))?;
    for dir in &opts.dirs {
        let handle = Dir::open_ambient_dir(&dir.host, ambient_authority()).map_err(|source| {
            RuntimeError::Dir {
                path: dir.host.clone(),
                source,
            }
        })?;
        builder
            .preopened_dir(handle, &dir.guest)
            .map_err(|e| RuntimeError::Option(format!("--dir {}: {e:#}", dir.host.display())))?;
    }
    Ok(builder.build())
}
