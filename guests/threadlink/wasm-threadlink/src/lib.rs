//! std-like threads over the `wasm_threadlink` ABI, for Rust guests built for
//! `wasm32-unknown-unknown` with `+atomics,+bulk-memory,+mutable-globals`.
//!
//! - [`spawn`] runs a closure on a new thread (a new instance of the module on the same
//!   shared memory) and [`JoinHandle::join`] returns its typed result;
//! - [`Mutex`] is a futex-style lock on `memory.atomic.wait32`/`notify`; with the `tracing`
//!   feature it reports lock/unlock to the host through the lock hooks;
//! - [`panic`] stops the whole program with an [`ErrorCode`].
//!
//! The crate also exports what the host and wasm-threadify need from every module:
//! `thread_start(start_routine)`, `__wasmgrind_malloc(size, align)` and
//! `__wasmgrind_free(ptr, size, align)`.
#![cfg_attr(target_arch = "wasm32", feature(stdarch_wasm_atomic_wait))]

mod exports;
mod ffi;
mod mutex;
mod process;
mod thread;

pub use mutex::{Mutex, MutexGuard};
pub use process::panic;
pub use thread::{join_id, spawn, JoinHandle};
pub use wasm_threadlink_errors::ErrorCode;

/// Converts a raw code returned by the host into `Ok(())` / `Err(code)`; codes the crate
/// does not know map to [`ErrorCode::RuntimeContextFailure`].
pub(crate) fn check(code: i32) -> Result<(), ErrorCode> {
    ErrorCode::try_from(code)
        .unwrap_or(ErrorCode::RuntimeContextFailure)
        .into_result()
}
