//! The host imports of the `wasm_threadlink` ABI (DESIGN.md's table).

#[link(wasm_import_module = "wasm_threadlink")]
extern "C" {
    /// Spawns a thread running the export `thread_start(start_routine)` in a new instance,
    /// writes its id to `tid_ptr`; returns an error code.
    pub fn thread_create(tid_ptr: *mut u32, start_routine: *mut u8) -> i32;
    /// Waits for thread `tid` to finish; returns an error code.
    pub fn thread_join(tid: u32) -> i32;
    /// Stops the whole program with `errno`; never returns.
    #[link_name = "panic"]
    pub fn threadlink_panic(errno: u32);
}

#[cfg(feature = "tracing")]
#[link(wasm_import_module = "wasm_threadlink")]
extern "C" {
    /// About to lock the mutex at `mutex`.
    pub fn start_lock(mutex: *const u8);
    /// Now holds the mutex at `mutex`.
    pub fn finish_lock(mutex: *const u8);
    /// About to unlock the mutex at `mutex`.
    pub fn start_unlock(mutex: *const u8);
    /// Has unlocked the mutex at `mutex`.
    pub fn finish_unlock(mutex: *const u8);
}
