//! Checks `panic`: stops the program with error code 4 (out-of-bounds memory access);
//! the host must print that code's description and exit non-zero. `run` never returns.

use wasm_threadlink::ErrorCode;

#[no_mangle]
pub extern "C" fn run() -> i32 {
    wasm_threadlink::panic(ErrorCode::OutOfBoundsMemoryAccess)
}
