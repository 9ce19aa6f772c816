//! The wasmtime engine configuration every run uses (and the overhead benchmark
//! reproduces, so `run` is measured against plain wasmtime with the same settings).

use wasmtime::{Config, Engine};

use crate::RuntimeError;

/// Builds the engine: threads and shared memory on, multi-memory (the instrumentation's
/// event buffer is a second memory).
pub fn engine() -> Result<Engine, RuntimeError> {
    Engine::new(&config()).map_err(|e| RuntimeError::wasmtime("creating the wasmtime engine", e))
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
        .epoch_interruption(false);
    config
}
