//! Atomics, wait/notify, fences and bulk memory call the host hooks with the right sites.

mod common;

use common::{check_site_locations, instructions, run};
use wasmgrind_instrument::{AtomicOp, BulkOp, Hook, Options, SiteKind};

const SYNC: &str = r#"
(module
  (memory 1 1 shared)
  (data $d "hello")
  (func $atomics (param $p i32) (result i64)
    (drop (i32.atomic.load (local.get $p)))
    (drop (i64.atomic.load8_u offset=8 (local.get $p)))
    (i32.atomic.store16 (local.get $p) (i32.const 7))
    (i64.atomic.store (local.get $p) (i64.const 7))
    (drop (i32.atomic.rmw.add (local.get $p) (i32.const 1)))
    (drop (i64.atomic.rmw32.sub_u (local.get $p) (i64.const 1)))
    (drop (i32.atomic.rmw8.and_u (local.get $p) (i32.const 1)))
    (drop (i64.atomic.rmw16.or_u (local.get $p) (i64.const 1)))
    (drop (i32.atomic.rmw.xor (local.get $p) (i32.const 1)))
    (drop (i64.atomic.rmw.xchg (local.get $p) (i64.const 1)))
    (drop (i32.atomic.rmw.cmpxchg (local.get $p) (i32.const 0) (i32.const 1)))
    (i64.atomic.rmw8.cmpxchg_u (local.get $p) (i64.const 0) (i64.const 1)))
  (func $waits (param $p i32) (result i32)
    (drop (memory.atomic.wait32 (local.get $p) (i32.const 0) (i64.const -1)))
    (drop (memory.atomic.wait64 offset=16 (local.get $p) (i64.const 0) (i64.const 5)))
    atomic.fence
    (memory.atomic.notify (local.get $p) (i32.const 1)))
  (func $bulk (param $p i32)
    (memory.copy (local.get $p) (i32.const 0) (i32.const 4))
    (memory.fill (local.get $p) (i32.const 255) (i32.const 4))
    (memory.init $d (local.get $p) (i32.const 1) (i32.const 2)))
)
"#;

fn kinds(out: &wasmgrind_instrument::Instrumented, func: u32) -> Vec<SiteKind> {
    out.sites
        .iter()
        .filter(|s| s.func == func)
        .map(|s| s.kind)
        .collect()
}

#[test]
fn atomics_have_op_and_size() {
    let (_, out) = run(SYNC, &Options::default());
    use AtomicOp::*;
    let expected = [
        (Load, 4),
        (Load, 1),
        (Store, 2),
        (Store, 8),
        (Add, 4),
        (Sub, 4),
        (And, 1),
        (Or, 2),
        (Xor, 4),
        (Xchg, 8),
        (Cmpxchg, 4),
        (Cmpxchg, 1),
    ]
    .map(|(op, size)| SiteKind::Atomic { op, size });
    assert_eq!(kinds(&out, 0), expected);
}

#[test]
fn wait_notify_fence_and_bulk_sites() {
    let (_, out) = run(SYNC, &Options::default());
    assert_eq!(
        kinds(&out, 1),
        [
            SiteKind::Wait { size: 4 },
            SiteKind::Wait { size: 8 },
            SiteKind::Fence,
            SiteKind::Notify
        ]
    );
    assert_eq!(
        kinds(&out, 2),
        [BulkOp::Copy, BulkOp::Fill, BulkOp::Init].map(|op| SiteKind::Bulk { op })
    );
}

/// The hooks called between two consecutive input instructions of the output, by name.
fn hook_calls(out: &wasmgrind_instrument::Instrumented) -> Vec<(u32, Hook)> {
    let outs = instructions(&out.wasm);
    let mut calls = Vec::new();
    for ins in &outs {
        if let Some(t) = ins.call_target.filter(|&t| t < Hook::COUNT) {
            if let Some(site) = out.offset_map.lookup(ins.offset) {
                calls.push((site, Hook::ALL[t as usize]));
            }
        }
    }
    calls
}

#[test]
fn each_sync_instruction_calls_its_hooks_in_order() {
    let (input, out) = run(SYNC, &Options::default());
    let calls = hook_calls(&out);
    for site in &out.sites {
        let hooks: Vec<Hook> = calls
            .iter()
            .filter(|(off, _)| *off == site.offset)
            .map(|&(_, h)| h)
            .collect();
        // Every draining hook is preceded by the module's own flush of its records;
        // `atomic` takes them itself; `atomic_end` follows the instruction in the branch
        // the module runs when the host did not perform it.
        let expected: &[Hook] = match site.kind {
            SiteKind::Atomic { .. } => &[Hook::Atomic, Hook::AtomicEnd],
            SiteKind::Wait { .. } => &[Hook::Flush, Hook::WaitBegin, Hook::WaitEnd],
            SiteKind::Notify => &[Hook::Flush, Hook::Notify],
            SiteKind::Fence => &[Hook::Flush, Hook::Fence],
            SiteKind::Bulk { .. } => &[Hook::Flush, Hook::Bulk],
            other => panic!("unexpected site {other:?}"),
        };
        assert_eq!(hooks, expected, "{site:?}");
    }
    // `flush` carries no site: the location check counts the other hooks.
    let (hooks, _) = check_site_locations(&input, &out);
    let sited = calls.iter().filter(|&&(_, h)| h != Hook::Flush).count();
    assert_eq!(hooks, sited);
}

#[test]
fn hook_arguments_come_from_the_instruction_operands() {
    // cmpxchg: atomic_end gets (site, ea, result, replacement, expected): the replacement and
    // expected locals are read back in that order right before the call.
    let (_, out) = run(SYNC, &Options::default());
    let outs = instructions(&out.wasm);
    let end_calls: Vec<usize> = outs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.call_target == Some(Hook::AtomicEnd.func_index()))
        .map(|(n, _)| n)
        .collect();
    // Stores pass result 0; loads pass operand 0 and expected 0.
    let store_end = end_calls[2]; // i32.atomic.store16: result, get v, extend, expected
    assert_eq!(outs[store_end - 4].i64_const, Some(0), "store result is 0");
    assert_eq!(
        outs[store_end - 2].op,
        "I64ExtendI32U",
        "stored i32 zero-extended"
    );
    let store64_end = end_calls[3]; // i64.atomic.store: result, get v, expected
    assert_eq!(
        outs[store64_end - 3].i64_const,
        Some(0),
        "store result is 0"
    );
    assert!(outs[store64_end - 2].op.starts_with("LocalGet"));
    let load_end = end_calls[0];
    assert_eq!(outs[load_end - 1].i64_const, Some(0), "load expected is 0");
    assert_eq!(outs[load_end - 2].i64_const, Some(0), "load operand is 0");
    // i32 values are zero-extended.
    assert_eq!(outs[load_end - 3].op, "I64ExtendI32U");
    // cmpxchg: the last two args are locals (replacement, expected), different locals.
    let cx = end_calls[10];
    let (rep, exp) = (&outs[cx - 2].op, &outs[cx - 4].op);
    assert!(rep.starts_with("LocalGet") && exp.starts_with("LocalGet") && rep != exp);
    // The effective address adds the memarg offset as i64.
    let load8 = end_calls[1];
    let window = &outs[load8.saturating_sub(30)..load8];
    assert!(window.iter().any(|i| i.i64_const == Some(8)));
}

#[test]
fn cross_memory_copy_is_reported_unsupported() {
    let wat = r#"(module (memory 1 1 shared) (memory 1)
        (func (memory.copy 0 1 (i32.const 0) (i32.const 0) (i32.const 1))))"#;
    let input = wat::parse_str(wat).unwrap();
    let err = wasmgrind_instrument::instrument(&input, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("memory.copy"), "{err}");
}

#[test]
fn atomics_on_private_memory_are_plain() {
    let wat = r#"(module (memory 1 1 shared) (memory 1)
        (func (param i32) (result i32) (i32.atomic.rmw.add 1 (local.get 0) (i32.const 1))))"#;
    let (_, out) = run(wat, &Options::default());
    assert!(out.sites.is_empty());
}
