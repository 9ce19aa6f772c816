//! wasmgrind's runtime: runs multithreaded WebAssembly natively on wasmtime, one
//! instance per OS thread on one shared memory, for both thread ABIs (wasi-threads and
//! wasm_threadlink), with one WASI preview 1 context shared by every thread.
//!
//! The runtime executes; it does not analyze. What the analysis needs (thread
//! lifecycle, lock hooks, and the events of instrumented code) is handed to a
//! [`Monitor`] in the order the program produced it.

mod abi;
mod atomic_op;
mod blocking;
mod code_map;
pub mod engine;
mod error;
mod hang;
mod instrumentation;
mod lock_owners;
mod module;
mod monitor;
mod options;
mod program;
mod termination;
mod threads;
mod wasi;
mod watchdog;

pub use code_map::CodeMap;
pub use error::RuntimeError;
pub use hang::{HangKind, HangReport, ThreadActivity, ThreadHang};
pub use module::{Abi, LoadedModule};
pub use monitor::{LockHook, Monitor, NullMonitor, ThreadId, ThreadMonitor};
pub use options::{DirMapping, RunOptions};
pub use program::{run, Outcome, Run, TrapFrame};
pub use termination::{
    exit_code_for, Finalizer, Termination, EXIT_DEADLOCK, EXIT_GUEST_PANIC, EXIT_TIMEOUT, EXIT_TRAP,
};
