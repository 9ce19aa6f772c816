//! `plain-wasmtime MODULE [ARGS...]`: the reference embedding `wasmgrind run` is measured
//! against. It runs `_start` of a wasi-threads module the way wasmtime's own CLI does
//! (`wasi-common` sync WASI p1 + `wasmtime-wasi-threads`), on the engine
//! [`wasmgrind_runtime::engine::engine_for`] builds for `wasmgrind run`, so both sides
//! compile and run with identical settings, the compilation cache included, unless
//! `PLAIN_WASMTIME_NO_CACHE` is set (the bench's `--cold-compile`).
//!
//! Exit status as wasmtime's: the program's `proc_exit` code, 134 (128 + SIGABRT) after a
//! trap, 1 on any other error; `argv[0]` is the module's file name.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use wasi_common::sync::WasiCtxBuilder;
use wasi_common::WasiCtx;
use wasmtime::{Linker, Module, Store};
use wasmtime_wasi_threads::WasiThreadsCtx;

/// Per-store host state; cloned into every thread's store, as wasmtime's CLI does
/// (`WasiCtx` is an `Arc` over shared tables, so all threads see one WASI context).
#[derive(Clone)]
struct Host {
    wasi: WasiCtx,
    threads: Option<Arc<WasiThreadsCtx<Host>>>,
}

fn main() -> ExitCode {
    let mut argv = std::env::args_os().skip(1);
    let Some(module) = argv.next().map(PathBuf::from) else {
        eprintln!("usage: plain-wasmtime MODULE [ARGS...]");
        return ExitCode::from(2);
    };
    let args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
    match run(&module, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plain-wasmtime: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Compiles and runs the module; exits the process itself on `proc_exit` or a trap.
fn run(path: &Path, args: &[String]) -> anyhow::Result<()> {
    // The engine `wasmgrind run` builds for the same options.
    let options = wasmgrind_runtime::RunOptions {
        compile_cache: std::env::var_os(wasmgrind_bench::compile_cache::PLAIN_NO_CACHE_ENV)
            .is_none(),
        ..Default::default()
    };
    let engine = wasmgrind_runtime::engine::engine_for(&options)
        .map_err(|e| anyhow!("creating the engine: {e:#}"))?;
    let module = Module::from_file(&engine, path)
        .map_err(|e| anyhow!("compiling {}: {e:#}", path.display()))?;

    let argv0 = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let mut builder = WasiCtxBuilder::new();
    builder.inherit_stdio();
    builder
        .args(
            &std::iter::once(argv0)
                .chain(args.iter().cloned())
                .collect::<Vec<_>>(),
        )
        .context("setting the program arguments")?;

    let mut linker: Linker<Host> = Linker::new(&engine);
    wasi_common::sync::add_to_linker(&mut linker, |h: &mut Host| &mut h.wasi)
        .map_err(|e| anyhow!("adding WASI to the linker: {e:#}"))?;
    let mut store = Store::new(
        &engine,
        Host {
            wasi: builder.build(),
            threads: None,
        },
    );
    wasmtime_wasi_threads::add_to_linker(&mut linker, &store, &module, |h: &mut Host| {
        h.threads
            .as_ref()
            .expect("wasi-threads context is set before instantiation")
    })
    .map_err(|e| anyhow!("adding wasi-threads to the linker: {e:#}"))?;
    let threads = WasiThreadsCtx::new(module.clone(), Arc::new(linker.clone()), false)
        .map_err(|e| anyhow!("creating the wasi-threads context: {e:#}"))?;
    store.data_mut().threads = Some(Arc::new(threads));

    let instance = linker
        .instantiate(&mut store, &module)
        .map_err(|e| anyhow!("instantiating: {e:#}"))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|e| anyhow!("finding `_start`: {e:#}"))?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(()),
        // Exits the process on proc_exit (its code) and on a trap (134), like wasmtime.
        Err(e) => Err(anyhow!("{:?}", wasi_common::maybe_exit_on_error(e))),
    }
}
