//! `Scope::Blocking`: only waits, notifies and lock-shaped atomics are instrumented.

mod common;

use common::{instructions, run};
use wasmgrind_instrument::{AtomicOp, Hook, Options, Scope, SiteKind};

const MODULE: &str = r#"
(module
  (import "env" "memory" (memory 1 1 shared))
  (func $callee)
  (func (export "f") (param $p i32)
    (drop (i32.load (local.get $p)))
    (i32.store (local.get $p) (i32.const 1))
    (call $callee)
    (drop (i32.atomic.rmw.add (local.get $p) (i32.const 1)))
    (drop (i32.atomic.load (local.get $p)))
    (atomic.fence)
    (memory.fill (local.get $p) (i32.const 0) (i32.const 4))
    (drop (i32.atomic.rmw.cmpxchg (local.get $p) (i32.const 0) (i32.const 1)))
    (drop (i32.atomic.rmw.xchg (local.get $p) (i32.const 0)))
    (i32.atomic.store (local.get $p) (i32.const 0))
    (drop (memory.atomic.wait32 (local.get $p) (i32.const 1) (i64.const -1)))
    (drop (memory.atomic.notify (local.get $p) (i32.const 1))))
)
"#;

fn blocking() -> Options {
    Options {
        scope: Scope::Blocking,
        ..Options::default()
    }
}

#[test]
fn blocking_scope_keeps_only_waits_notifies_and_lock_atomics() {
    let (_, out) = run(MODULE, &blocking());
    let kinds: Vec<SiteKind> = out.sites.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![
            SiteKind::Atomic {
                op: AtomicOp::Cmpxchg,
                size: 4
            },
            SiteKind::Atomic {
                op: AtomicOp::Xchg,
                size: 4
            },
            SiteKind::Atomic {
                op: AtomicOp::Store,
                size: 4
            },
            SiteKind::Wait { size: 4 },
            SiteKind::Notify,
        ]
    );
    let hooks_called: Vec<u32> = instructions(&out.wasm)
        .iter()
        .filter_map(|i| i.call_target)
        .filter(|&t| t < Hook::COUNT)
        .collect();
    assert_eq!(
        hooks_called,
        vec![
            Hook::AtomicEnd.func_index(),
            Hook::AtomicEnd.func_index(),
            Hook::AtomicEnd.func_index(),
            Hook::WaitBegin.func_index(),
            Hook::WaitEnd.func_index(),
            Hook::Notify.func_index(),
        ],
        "no atomic, flush, fence or bulk hook, and no records"
    );
}

#[test]
fn everything_scope_still_instruments_all() {
    let (_, out) = run(MODULE, &Options::default());
    assert!(out
        .sites
        .iter()
        .any(|s| matches!(s.kind, SiteKind::Read { .. })));
    assert!(out.sites.iter().any(|s| s.kind == SiteKind::CallEnter));
    let begins = instructions(&out.wasm)
        .iter()
        .filter(|i| i.call_target == Some(Hook::Atomic.func_index()))
        .count();
    assert_eq!(begins, 5, "every atomic gets the atomic hook");
}
