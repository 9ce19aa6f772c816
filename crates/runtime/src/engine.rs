//! The wasmtime engine configuration every run uses (and the overhead benchmark
//! reproduces, so `run` is measured against plain wasmtime with the same settings).

use wasmtime::{Config, Engine};

use crate::RuntimeError;

/// Builds the engine: threads and shared memory on, multi-memory (the instrumentation's
/// event buffer is a second memory).
pub fn engine() -> Result<Engine, RuntimeError> {
    engine_with_epochs(false)
}

/// [`engine`], with wasmtime's epoch interruption compiled in when `epochs` is set:
/// `--timeout` uses it to interrupt running threads and capture their stacks. It adds
/// a check to every loop header and function entry, so it is off otherwise.
pub fn engine_with_epochs(epochs: bool) -> Result<Engine, RuntimeError> {
    let mut config = config();
    config.epoch_interruption(epochs);
    Engine::new(&config).map_err(|e| RuntimeError::wasmtime("creating the wasmtime engine", e))
}

/// The engine settings, exposed so benchmarks can build an identical plain-wasmtime engine.
pub fn config() -> Config {
    let mut config = Config::new();
    config
        .wasm_threads(true)
        .shared_memory(true)
        .wasm_multi_memory(true)
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        // 4× wasmtime's default: instrumented code keeps scratch locals in every
        // frame, and a recursion that fits natively must still fit under `check`.
        // Every wasm thread's native stack (`program.rs`) is larger than this.
        .max_wasm_stack(WASM_STACK_BYTES)
        .epoch_interruption(false);
    config
}

/// Most native stack one thread's wasm may use.
pub const WASM_STACK_BYTES: usize = 2 << 20;
