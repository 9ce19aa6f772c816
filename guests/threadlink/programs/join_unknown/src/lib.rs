//! Checks `thread_join`'s error path: joins an id no thread has; `run` returns the error
//! code the host gave back (1, thread not found), or 0 if the join wrongly succeeded.

/// An id far beyond any thread this program spawns.
const BOGUS_TID: u32 = 0x00ba_d1d0;

#[no_mangle]
pub extern "C" fn run() -> i32 {
    match wasm_threadlink::join_id(BOGUS_TID) {
        Ok(()) => 0,
        Err(code) => code.code() as i32,
    }
}
