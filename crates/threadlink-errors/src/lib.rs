//! Error codes of the `wasm_threadlink` thread ABI.
//!
//! One definition shared by the host runtime (which returns them from `thread_create` /
//! `thread_join` and prints their description on `panic`) and the guest library (which
//! turns them into `Result`s), so both sides always agree on the numbering.
#![no_std]

mod error_code;

pub use error_code::{ErrorCode, UnknownErrorCode};
