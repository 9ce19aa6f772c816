//! The `atomic` hook's protocol, seen from the module: with status 0 the host performed
//! the access and its result replaces the instruction's; with status 1 the module executes
//! the instruction itself (so a misaligned or out-of-bounds access still traps) and reports
//! it with `atomic_end`.

mod common;

use std::sync::{Arc, Mutex};

use wasmgrind_instrument::{Hook, Options, IMPORT_MODULE};
use wasmtime::{Caller, Config, Engine, Linker, Module, Store, Val};

const MODULE: &str = r#"
(module
  (memory (export "memory") 1 1 shared)
  (func (export "add8") (param $p i32) (result i32)
    (i32.atomic.rmw8.add_u (local.get $p) (i32.const 0x1FF)))
  (func (export "cmpxchg64") (param $p i32) (result i64)
    (i64.atomic.rmw.cmpxchg offset=8 (local.get $p) (i64.const 5) (i64.const 9)))
  (func (export "store16") (param $p i32)
    (i32.atomic.store16 (local.get $p) (i32.const 0xABCD)))
)
"#;

/// What the stub hooks saw: `atomic` and `atomic_end` argument lists.
#[derive(Default)]
struct Seen {
    atomic: Vec<(i32, i64, i64, i64)>,
    end: Vec<(i32, i64, i64, i64, i64)>,
}

/// Instantiates the instrumented [`MODULE`] with an `atomic` hook answering
/// `(result, status)` and returns a caller of its exports.
fn harness(result: i64, status: i32) -> (Store<()>, wasmtime::Instance, Arc<Mutex<Seen>>) {
    let (_, out) = common::run(MODULE, &Options::default());
    let mut config = Config::new();
    config.wasm_threads(true).shared_memory(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, &out.wasm).unwrap();
    let mut linker = Linker::<()>::new(&engine);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s = seen.clone();
    linker
        .func_wrap(
            IMPORT_MODULE,
            Hook::Atomic.name(),
            move |_: Caller<'_, ()>, site: i32, addr: i64, _len: i32, op: i64, exp: i64| {
                s.lock().unwrap().atomic.push((site, addr, op, exp));
                (result, status)
            },
        )
        .unwrap();
    let s = seen.clone();
    linker
        .func_wrap(
            IMPORT_MODULE,
            Hook::AtomicEnd.name(),
            move |site: i32, addr: i64, r: i64, op: i64, exp: i64| {
                s.lock().unwrap().end.push((site, addr, r, op, exp));
            },
        )
        .unwrap();
    // The other hooks are never called here (no plain accesses, waits or bulk ops).
    linker.define_unknown_imports_as_traps(&module).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance, seen)
}

fn call(store: &mut Store<()>, instance: &wasmtime::Instance, name: &str, arg: i32) -> Option<Val> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut results = vec![Val::I32(0); f.ty(&*store).results().len()];
    f.call(&mut *store, &[Val::I32(arg)], &mut results).unwrap();
    results.pop()
}

fn memory(store: &mut Store<()>, instance: &wasmtime::Instance) -> Vec<u8> {
    let m = instance.get_shared_memory(&mut *store, "memory").unwrap();
    m.data()[..32]
        .iter()
        .map(|c| {
            // SAFETY: no other thread runs; a byte read of our own test memory.
            unsafe { *c.get() }
        })
        .collect()
}

#[test]
fn performed_atomics_take_the_hook_result_and_leave_memory_alone() {
    // The host says it performed the access: the module does not execute it.
    let (mut store, instance, seen) = harness(0x1_2345_6789, 0);
    let r = call(&mut store, &instance, "add8", 4).unwrap();
    assert_eq!(r.unwrap_i32(), 0x2345_6789, "i32 results are the low half");
    let r = call(&mut store, &instance, "cmpxchg64", 16).unwrap();
    assert_eq!(r.unwrap_i64(), 0x1_2345_6789);
    assert!(call(&mut store, &instance, "store16", 2).is_none());
    assert_eq!(memory(&mut store, &instance), vec![0; 32]);
    let seen = seen.lock().unwrap();
    assert!(
        seen.end.is_empty(),
        "no atomic_end after a performed atomic"
    );
    // (site, effective address, operand, expected) zero-extended, offsets added.
    let args: Vec<_> = seen.atomic.iter().map(|&(_, a, o, e)| (a, o, e)).collect();
    assert_eq!(args, [(4, 0x1FF, 0), (24, 9, 5), (2, 0xABCD, 0)]);
}

#[test]
fn unperformed_atomics_run_in_the_module_and_are_reported_after() {
    let (mut store, instance, seen) = harness(77, 1);
    // Memory starts zeroed: the byte add returns 0 and stores 0xFF (0x1FF wrapped).
    assert_eq!(
        call(&mut store, &instance, "add8", 4).unwrap().unwrap_i32(),
        0
    );
    assert_eq!(
        call(&mut store, &instance, "cmpxchg64", 16)
            .unwrap()
            .unwrap_i64(),
        0
    );
    call(&mut store, &instance, "store16", 2);
    let mem = memory(&mut store, &instance);
    assert_eq!(mem[4], 0xFF);
    assert_eq!(mem[2..4], [0xCD, 0xAB]);
    assert_eq!(
        mem[24..32],
        [0; 8],
        "cmpxchg found 0, not 5: nothing stored"
    );
    let seen = seen.lock().unwrap();
    let ends: Vec<_> = seen
        .end
        .iter()
        .map(|&(_, a, r, o, e)| (a, r, o, e))
        .collect();
    assert_eq!(ends, [(4, 0, 0x1FF, 0), (24, 0, 9, 5), (2, 0, 0xABCD, 0)]);
}

#[test]
fn unperformed_misaligned_atomics_trap_as_the_instruction_does() {
    let (mut store, instance, _) = harness(0, 1);
    let f = instance.get_func(&mut store, "cmpxchg64").unwrap();
    let mut results = [Val::I64(0)];
    let err = f
        .call(&mut store, &[Val::I32(4)], &mut results)
        .unwrap_err();
    let trap = err.downcast_ref::<wasmtime::Trap>().copied();
    assert_eq!(trap, Some(wasmtime::Trap::HeapMisaligned), "{err:?}");
}
