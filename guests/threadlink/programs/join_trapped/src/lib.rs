//! Checks joining a thread that trapped: the child executes `unreachable`; `run` returns
//! the error code join gave back (2, join failure), or 0 if the join wrongly succeeded.

#[no_mangle]
pub extern "C" fn run() -> i32 {
    let handle =
        wasm_threadlink::spawn(|| -> u32 { core::arch::wasm32::unreachable() }).expect("spawn");
    match handle.join() {
        Ok(_) => 0,
        Err(code) => code.code() as i32,
    }
}
