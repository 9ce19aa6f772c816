//! Stopping the whole program.

use crate::ffi;
use wasm_threadlink_errors::ErrorCode;

/// Stops every thread of the program with `code`; the host prints its description and
/// exits non-zero. Never returns.
pub fn panic(code: ErrorCode) -> ! {
    // SAFETY: `panic` takes a plain integer and has no memory-safety preconditions.
    unsafe { ffi::threadlink_panic(code.code()) };
    // The host must not return from `panic`; trap if it does anyway.
    core::arch::wasm32::unreachable()
}
