//! One program run: the engine, the linker with every import the ABIs provide, the
//! shared memory, and the thread that runs the entry point.

use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use wasi_common::WasiCtx;
use wasmtime::{
    Engine, Extern, ExternType, Instance, InstancePre, Linker, Module, SharedMemory, Store, Trap,
    UpdateDeadline, Val, ValType, WasmBacktrace,
};

use wasmgrind_instrument::{Instrumented, Site};

use crate::atomic_op::SharedBase;
use crate::blocking::Blocking;
use crate::code_map::CodeMap;
use crate::instrumentation::{drain, event_buffer, AtomicStripes, EventBuffer};
use crate::module::{Abi, LoadedModule, Shape};
use crate::threads::{Slot, ThreadEnd, Threads};
use crate::{
    abi, HangReport, Monitor, RunOptions, RuntimeError, Termination, ThreadId, ThreadMonitor,
};

/// How a program ended, seen from the thread that ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `proc_exit(code)` in any thread, or `_start` returning (0).
    Exited(i32),
    /// The `--invoke`d export returned these values (formatted like wasmtime's CLI).
    Returned(Vec<String>),
    /// A thread trapped: the trap's message and its wasm backtrace, innermost first.
    Trapped {
        thread: ThreadId,
        trap: String,
        frames: Vec<TrapFrame>,
    },
    /// A threadlink program called `panic(code)`.
    Panicked { thread: ThreadId, code: u32 },
    /// The runtime stopped the program (e.g. the thread limit was reached).
    Aborted(String),
    /// The watchdog stopped a program that hung (every thread blocked for good) or
    /// ran past `--timeout`.
    Hung(HangReport),
}

impl Outcome {
    /// Prints what the user must see about the outcome (nothing for a normal exit) to `out`.
    pub fn print_diagnostic(&self, out: &mut dyn std::io::Write) {
        let _ = match self {
            Outcome::Exited(_) => Ok(()),
            Outcome::Returned(values) => {
                // Results of --invoke are the program's output: stdout, like wasmtime.
                for value in values {
                    println!("{value}");
                }
                Ok(())
            }
            Outcome::Trapped {
                thread,
                trap,
                frames,
            } => {
                let mut text = format!("wasmgrind: thread {thread} trapped: {trap}\n");
                for (i, frame) in frames.iter().enumerate() {
                    let name = frame
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("wasm-function[{}]", frame.func_index));
                    let at = frame
                        .offset
                        .map(|o| format!(" at {o:#x}"))
                        .unwrap_or_default();
                    text.push_str(&format!("    #{i} {name}{at}\n"));
                }
                write!(out, "{text}")
            }
            Outcome::Panicked { thread, code } => {
                let description = wasm_threadlink_errors::ErrorCode::try_from(*code)
                    .map(|c| c.description())
                    .unwrap_or("unknown error code");
                writeln!(
                    out,
                    "wasmgrind: thread {thread} called panic({code}): {description}"
                )
            }
            Outcome::Aborted(reason) => writeln!(out, "wasmgrind: error: {reason}"),
            Outcome::Hung(report) => writeln!(out, "wasmgrind: {}", report.headline()),
        };
    }
}

/// One frame of a trap's wasm backtrace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapFrame {
    /// Function index in the executed module.
    pub func_index: u32,
    /// The function's name as the name section gives it (mangled).
    pub name: Option<String>,
    /// Code offset in the module the user gave; `None` in code wasmgrind added.
    pub offset: Option<u32>,
}

/// Per-thread store data: the shared WASI context, the thread's id, the program.
pub(crate) struct ThreadCtx {
    pub wasi: WasiCtx,
    pub tid: ThreadId,
    pub program: Arc<Program>,
    /// Where this thread's events go.
    pub monitor: Box<dyn ThreadMonitor>,
    /// The instance's event buffer, when it is instrumented.
    pub events: Option<EventBuffer>,
    /// A size the shared memory is known to have reached (memories only grow), so the
    /// bounds check of most atomics needs no query of the shared memory's locked size.
    pub known_memory_size: u64,
}

/// What every thread of a program shares.
pub(crate) struct Program {
    pub engine: Engine,
    pub pre: OnceLock<InstancePre<ThreadCtx>>,
    pub wasi: WasiCtx,
    /// The memory every thread shares (the module's shared memory import).
    pub memory: Option<SharedMemory>,
    /// `memory`'s base, where the `atomic` hook performs atomics (it never moves).
    pub shared_base: Option<SharedBase>,
    pub threads: Threads,
    /// Maps executed code offsets back to the user's module.
    pub code_map: CodeMap,
    pub abi: Abi,
    /// The instrumentation's sites (empty when not instrumented).
    pub sites: Arc<[Site]>,
    pub stripes: AtomicStripes,
    pub monitor: Arc<dyn Monitor>,
    pub termination: Arc<Termination>,
    /// What each live thread is blocked on, for the watchdog.
    pub blocking: Blocking,
    /// Started with the first spawned thread or a timeout ([`crate::watchdog`]).
    pub watchdog: Once,
    pub timeout: Option<Duration>,
}

/// What to run and who watches: the inputs of [`run`].
pub struct Run<'a> {
    pub module: &'a LoadedModule,
    /// Execute this instrumented copy of `module.prepared` instead of it.
    pub instrumented: Option<&'a Instrumented>,
    pub options: &'a RunOptions,
    pub monitor: Arc<dyn Monitor>,
    pub termination: Arc<Termination>,
}

/// Size of each wasm thread's native stack: room for the wasm stack limit plus
/// host frames.
const THREAD_STACK_BYTES: usize = crate::engine::WASM_STACK_BYTES + (4 << 20);

/// Runs the program's entry point on the calling thread and returns how it ended.
/// Threads it spawns keep running; a thread that ends the program (exit, trap) goes
/// through `run.termination` and exits the process itself.
pub fn run(run: Run<'_>) -> Result<Outcome, RuntimeError> {
    let engine = crate::engine::engine_for(run.options)?;
    let bytes = run
        .instrumented
        .map_or(&run.module.prepared[..], |i| &i.wasm[..]);
    let code_map = CodeMap::new(
        &run.module.original,
        &run.module.prepared,
        run.instrumented.map(|i| i.offset_map.clone()),
    )?;
    let module =
        Module::new(&engine, bytes).map_err(|e| RuntimeError::Invalid(format!("{e:#}")))?;
    let shape = Shape::of(bytes)?;
    let entry = entry_point(run.module.abi, &shape, run.options)?;
    if run.options.max_threads == 0 {
        return Err(RuntimeError::Option(
            "--max-threads must be at least 1".into(),
        ));
    }

    let memory = shared_memory(&engine, &module)?;
    let program = Arc::new(Program {
        engine: engine.clone(),
        pre: OnceLock::new(),
        wasi: crate::wasi::build_ctx(run.options)?,
        memory: memory.clone(),
        shared_base: memory.as_ref().map(|m| SharedBase::new(m.data())),
        threads: Threads::new(run.options.max_threads),
        code_map,
        abi: run.module.abi,
        sites: run
            .instrumented
            .map_or_else(|| Arc::from(Vec::new()), |i| Arc::from(i.sites.clone())),
        stripes: AtomicStripes::new(),
        monitor: run.monitor,
        termination: run.termination,
        blocking: Blocking::new(),
        watchdog: Once::new(),
        timeout: run.options.timeout,
    });
    if program.timeout.is_some() {
        crate::watchdog::ensure_started(&program);
    }
    let mut store = new_store(&program, 0);
    let linker = linker(&engine, &module, memory, &mut store)?;
    let pre = linker
        .instantiate_pre(&module)
        .map_err(|e| RuntimeError::wasmtime("linking the module", e))?;
    let _ = program.pre.set(pre);

    let instance = match instantiate(&program, &mut store) {
        Ok(instance) => instance,
        Err(e) => return Ok(outcome_of_error(&program, 0, e)),
    };
    let func = instance
        .get_func(&mut store, &entry)
        .expect("entry point checked against exports");
    let ty = func.ty(&store);
    if ty.params().len() != 0 {
        return Err(RuntimeError::Option(format!(
            "export `{entry}` takes parameters; --invoke calls functions without parameters"
        )));
    }
    let mut results: Vec<Val> = ty.results().map(|t| default_val(&t)).collect();
    let outcome = match func.call(&mut store, &[], &mut results) {
        Ok(()) if run.options.invoke.is_some() => {
            Outcome::Returned(results.iter().map(format_val).collect())
        }
        Ok(()) => Outcome::Exited(0),
        Err(e) => outcome_of_error(&program, 0, e),
    };
    finish_thread(&mut store, true);
    Ok(outcome)
}

/// The export the main thread calls: `--invoke`, else `_start`.
fn entry_point(abi: Abi, shape: &Shape, opts: &RunOptions) -> Result<String, RuntimeError> {
    let entry = opts.invoke.clone().unwrap_or_else(|| "_start".to_string());
    if shape.exports(&entry) {
        return Ok(entry);
    }
    // argv[1..] holding `--invoke`: the flag came after the module, where it is the
    // program's (as with `wasmtime run`).
    let invoke_after_module = opts
        .args
        .iter()
        .skip(1)
        .any(|a| a == "--invoke" || a.starts_with("--invoke="));
    let hint = match (&opts.invoke, abi) {
        (None, _) if invoke_after_module => {
            "; `--invoke` goes before the module (after it, it is the program's argument)"
        }
        (None, Abi::Threadlink) => "; threadlink modules are run with --invoke <EXPORT>",
        _ => "",
    };
    let hint = hint.to_string();
    Err(RuntimeError::MissingEntry(entry, hint))
}

pub(crate) fn new_store(program: &Arc<Program>, tid: ThreadId) -> Store<ThreadCtx> {
    let ctx = ThreadCtx {
        wasi: program.wasi.clone(),
        tid,
        program: program.clone(),
        monitor: program.monitor.thread(tid),
        events: None,
        known_memory_size: 0,
    };
    let mut store = Store::new(&program.engine, ctx);
    if program.timeout.is_some() {
        // The watchdog bumps the epoch once, at the timeout: the thread then posts its
        // stack for the report and carries on until the program is ended.
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|cx| {
            let stack = backtrace_frames(&cx.data().program, &WasmBacktrace::capture(&cx));
            let ctx = cx.data();
            ctx.program.blocking.post_running_stack(ctx.tid, stack);
            Ok(UpdateDeadline::Continue(1))
        });
    }
    store
}

/// The frames of a wasm backtrace, innermost first, with offsets of the user's module.
pub(crate) fn backtrace_frames(program: &Program, bt: &WasmBacktrace) -> Vec<TrapFrame> {
    bt.frames()
        .iter()
        .map(|f| TrapFrame {
            func_index: f.func_index(),
            name: f.func_name().map(str::to_string),
            offset: f
                .module_offset()
                .and_then(|o| program.code_map.to_original(o as u32)),
        })
        .collect()
}

/// Instantiates the module for a thread and finds its event buffer.
fn instantiate(program: &Program, store: &mut Store<ThreadCtx>) -> wasmtime::Result<Instance> {
    let pre = program
        .pre
        .get()
        .expect("instance pre is set before any thread runs");
    let instance = pre.instantiate(&mut *store)?;
    store.data_mut().events = event_buffer(&mut *store, &instance);
    Ok(instance)
}

/// The thread's last events: its pending records, then its end (`ends_program` as
/// [`crate::ThreadMonitor::exit`] has it).
fn finish_thread(store: &mut Store<ThreadCtx>, ends_program: bool) {
    drain(&mut *store);
    let ctx = store.data_mut();
    ctx.monitor.exit(ends_program);
}

/// Every import a program can have: WASI p1, both thread ABIs, the shared memory.
fn linker(
    engine: &Engine,
    module: &Module,
    shared: Option<SharedMemory>,
    store: &mut Store<ThreadCtx>,
) -> Result<Linker<ThreadCtx>, RuntimeError> {
    let mut linker = Linker::new(engine);
    wasi_common::sync::add_to_linker(&mut linker, |cx: &mut ThreadCtx| &mut cx.wasi)
        .map_err(|e| RuntimeError::wasmtime("adding WASI to the linker", e))?;
    abi::wasi_threads::add_to_linker(&mut linker)?;
    abi::threadlink::add_to_linker(&mut linker)?;
    crate::instrumentation::add_to_linker(&mut linker)?;

    let mut unknown = Vec::new();
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty() {
            let memory: Extern = if let (true, Some(shared)) = (ty.is_shared(), shared.clone()) {
                shared.into()
            } else {
                wasmtime::Memory::new(&mut *store, ty)
                    .map_err(|e| RuntimeError::wasmtime("creating the memory", e))?
                    .into()
            };
            linker
                .define(&mut *store, import.module(), import.name(), memory)
                .map_err(|e| RuntimeError::wasmtime("defining the memory", e))?;
        } else if linker.get_by_import(&mut *store, &import).is_none() {
            unknown.push(format!(
                "`{}::{}` ({})",
                import.module(),
                import.name(),
                kind_name(&import.ty())
            ));
        }
    }
    if !unknown.is_empty() {
        return Err(RuntimeError::UnknownImports(unknown));
    }
    Ok(linker)
}

/// The module's shared memory import, created once for all threads.
fn shared_memory(engine: &Engine, module: &Module) -> Result<Option<SharedMemory>, RuntimeError> {
    for import in module.imports() {
        if let ExternType::Memory(ty) = import.ty() {
            if ty.is_shared() {
                return SharedMemory::new(engine, ty)
                    .map(Some)
                    .map_err(|e| RuntimeError::wasmtime("creating the shared memory", e));
            }
        }
    }
    Ok(None)
}

fn kind_name(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "function",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        ExternType::Tag(_) => "tag",
    }
}

fn default_val(ty: &ValType) -> Val {
    Val::default_for_ty(ty).unwrap_or(Val::I32(0))
}

fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => format!("{:#034x}", v.as_u128()),
        other => format!("{other:?}"),
    }
}

/// Classifies an error out of wasm: `proc_exit`, or a trap.
pub(crate) fn outcome_of_error(
    program: &Program,
    thread: ThreadId,
    err: wasmtime::Error,
) -> Outcome {
    if let Some(exit) = err.downcast_ref::<wasi_common::I32Exit>() {
        return Outcome::Exited(exit.0);
    }
    let trap = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    };
    let frames = err
        .downcast_ref::<WasmBacktrace>()
        .map(|bt| backtrace_frames(program, bt))
        .unwrap_or_default();
    Outcome::Trapped {
        thread,
        trap,
        frames,
    }
}

/// Starts `slot`'s thread: a fresh instance on its own OS thread. The caller has
/// reported the fork to its own monitor already. `body` calls the ABI's entry point.
pub(crate) fn spawn_thread(
    program: &Arc<Program>,
    slot: Slot,
    body: impl FnOnce(&mut Store<ThreadCtx>, Instance) -> wasmtime::Result<()> + Send + 'static,
) -> std::io::Result<()> {
    let tid = slot.id;
    // Live before it runs, so a parent that joins it at once is not seen alone.
    program.blocking.register(tid);
    crate::watchdog::ensure_started(program);
    let thread_program = program.clone();
    let spawned = std::thread::Builder::new()
        .name(format!("wasm-thread-{tid}"))
        .stack_size(THREAD_STACK_BYTES)
        .spawn(move || {
            let program = thread_program;
            let mut store = new_store(&program, tid);
            let result =
                instantiate(&program, &mut store).and_then(|instance| body(&mut store, instance));
            let outcome = result.err().map(|e| outcome_of_error(&program, tid, e));
            // A trapped threadlink thread is reported and its joiner gets `JoinFailure`;
            // the guest decides what happens next. Any other end that is not a return
            // (a wasi-threads trap or exit) ends the program.
            let program_goes_on =
                program.abi == Abi::Threadlink && matches!(outcome, Some(Outcome::Trapped { .. }));
            finish_thread(&mut store, outcome.is_some() && !program_goes_on);
            drop(store);
            match outcome {
                None => program.threads.finish(slot, ThreadEnd::Finished),
                Some(outcome) if program_goes_on => {
                    program.termination.report(&outcome);
                    program.threads.finish(slot, ThreadEnd::Failed);
                }
                // The thread stays live meanwhile, so the watchdog sees no hang.
                Some(outcome) => program.termination.terminate(outcome),
            }
            program.blocking.unregister(tid);
        });
    spawned.map(|_| ())
}
