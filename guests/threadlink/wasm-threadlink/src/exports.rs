//! The exports every threadlink module provides: the thread entry point used by the host
//! and the allocator used by wasm-threadify's start routine.
//!
//! The allocator exports run while the instance is still on threadify's temporary stack,
//! before its TLS exists: they must not touch thread-locals (std's wasm allocator does not).

use std::alloc::{alloc, dealloc, Layout};

use crate::thread::StartRoutine;

/// Entry point of every spawned thread: the host calls it in the new instance with the
/// pointer [`crate::spawn`] passed to `thread_create`.
#[no_mangle]
pub extern "C" fn thread_start(start_routine: *mut StartRoutine) {
    // SAFETY: the host passes back exactly the pointer `spawn` leaked with `Box::into_raw`
    // and calls `thread_start` once per successful `thread_create`, so ownership of the
    // box moves here exactly once.
    let routine = unsafe { Box::from_raw(start_routine) };
    routine();
}

/// Allocates `size` bytes aligned to `align` on the global allocator; null on failure or
/// invalid layout, a dangling aligned pointer for `size == 0`.
#[no_mangle]
pub extern "C" fn __wasmgrind_malloc(size: usize, align: usize) -> *mut u8 {
    match Layout::from_size_align(size, align) {
        Ok(layout) if layout.size() == 0 => align as *mut u8,
        // SAFETY: the layout has a non-zero size.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees a block from [`__wasmgrind_malloc`] given the same `size` and `align`; null,
/// zero-sized and invalid-layout calls do nothing.
#[no_mangle]
pub extern "C" fn __wasmgrind_free(ptr: *mut u8, size: usize, align: usize) {
    if ptr.is_null() {
        return;
    }
    match Layout::from_size_align(size, align) {
        Ok(layout) if layout.size() != 0 => {
            // SAFETY: callers (threadify's destroy routine) pass a pointer returned by
            // `__wasmgrind_malloc` with the same size and alignment, freed once.
            unsafe { dealloc(ptr, layout) }
        }
        _ => {}
    }
}
