//! The wasmtime engine configuration every run uses (and the overhead benchmark
//! reproduces, so `run` is measured against plain wasmtime with the same settings).

use wasmtime::{Cache, Config, Engine};

use crate::{RunOptions, RuntimeError};

/// Builds the engine: threads and shared memory on, multi-memory (the instrumentation's
/// event buffer is a second memory).
pub fn engine() -> Result<Engine, RuntimeError> {
    engine_for(&RunOptions::default())
}

/// [`engine`] as `options` ask for it:
/// - wasmtime's epoch interruption is compiled in when there is a timeout: `--timeout`
///   uses it to interrupt running threads and capture their stacks. It adds a check to
///   every loop header and function entry, so it is off otherwise.
/// - with [`RunOptions::compile_cache`], compiled code goes through wasmtime's cache
///   (see `compile_cache`).
pub fn engine_for(options: &RunOptions) -> Result<Engine, RuntimeError> {
    let mut config = config();
    config.epoch_interruption(options.timeout.is_some());
    if options.compile_cache {
        config.cache(compile_cache());
    }
    Engine::new(&config).map_err(|e| RuntimeError::wasmtime("creating the wasmtime engine", e))
}

/// wasmtime's compilation cache as the wasmtime CLI sets it up: its configuration file
/// if there is one (`$XDG_CONFIG_HOME/wasmtime/config.toml`), else the defaults, with
/// the compiled code in `$XDG_CACHE_HOME/wasmtime` (`~/.cache/wasmtime`). A module
/// compiled once with the same settings and wasmtime version is then loaded instead
/// of compiled: for `check`, whose instrumented module is 4–5× the code, that is most
/// of its start-up (2.6 s → 0.3 s for an 8.8 MB test binary).
///
/// `None` when the cache cannot be set up (no home directory, a malformed
/// configuration file): the run then compiles as without it, since a cache is never
/// a reason to fail a run.
fn compile_cache() -> Option<Cache> {
    Cache::from_file(None).ok()
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
