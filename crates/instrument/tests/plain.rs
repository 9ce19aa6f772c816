//! Plain loads and stores of every width become buffered Read/Write records.

mod common;

use common::{check_site_locations, instructions, run};
use wasmgrind_instrument::{Options, SiteKind};

const PLAIN: &str = r#"
(module
  (memory 1 1 shared)
  (memory $private 1)
  (func $loads (param $p i32) (result i64)
    (drop (i32.load offset=4 (local.get $p)))
    (drop (i64.load (local.get $p)))
    (drop (f32.load (local.get $p)))
    (drop (f64.load (local.get $p)))
    (drop (i32.load8_s (local.get $p)))
    (drop (i32.load8_u (local.get $p)))
    (drop (i32.load16_s (local.get $p)))
    (drop (i32.load16_u (local.get $p)))
    (drop (i64.load8_s (local.get $p)))
    (drop (i64.load8_u (local.get $p)))
    (drop (i64.load16_s (local.get $p)))
    (drop (i64.load16_u (local.get $p)))
    (drop (i64.load32_s (local.get $p)))
    (i64.load32_u offset=100 (local.get $p)))
  (func $stores (param $p i32)
    (i32.store (local.get $p) (i32.const 1))
    (i64.store (local.get $p) (i64.const 2))
    (f32.store (local.get $p) (f32.const 3))
    (f64.store (local.get $p) (f64.const 4))
    (i32.store8 (local.get $p) (i32.const 5))
    (i32.store16 (local.get $p) (i32.const 6))
    (i64.store8 (local.get $p) (i64.const 7))
    (i64.store16 (local.get $p) (i64.const 8))
    (i64.store32 offset=8 (local.get $p) (i64.const 9)))
  (func $simd (param $p i32) (result v128)
    (local $v v128)
    (local.set $v (v128.load (local.get $p)))
    (drop (v128.load8x8_s (local.get $p)))
    (drop (v128.load8x8_u (local.get $p)))
    (drop (v128.load16x4_s (local.get $p)))
    (drop (v128.load16x4_u (local.get $p)))
    (drop (v128.load32x2_s (local.get $p)))
    (drop (v128.load32x2_u (local.get $p)))
    (drop (v128.load8_splat (local.get $p)))
    (drop (v128.load16_splat (local.get $p)))
    (drop (v128.load32_splat (local.get $p)))
    (drop (v128.load64_splat (local.get $p)))
    (drop (v128.load32_zero (local.get $p)))
    (drop (v128.load64_zero (local.get $p)))
    (v128.store (local.get $p) (local.get $v))
    (local.set $v (v128.load8_lane 1 (local.get $p) (local.get $v)))
    (local.set $v (v128.load16_lane 1 (local.get $p) (local.get $v)))
    (local.set $v (v128.load32_lane 1 (local.get $p) (local.get $v)))
    (local.set $v (v128.load64_lane 1 (local.get $p) (local.get $v)))
    (v128.store8_lane 0 (local.get $p) (local.get $v))
    (v128.store16_lane 0 (local.get $p) (local.get $v))
    (v128.store32_lane 0 (local.get $p) (local.get $v))
    (v128.store64_lane 0 (local.get $p) (local.get $v))
    (local.get $v))
  (func $private_only (param $p i32) (result i32)
    (i32.store $private (local.get $p) (i32.const 1))
    (i32.load $private (local.get $p)))
  (func $unreachable_code (param $p i32) (result i32)
    unreachable
    i64.load
    i64.store
    i32.const 0)
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
fn every_plain_width_gets_its_size() {
    let (_, out) = run(PLAIN, &Options::default());
    use SiteKind::{Read as R, Write as W};
    assert_eq!(
        kinds(&out, 0),
        [4, 8, 4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4].map(|size| R { size })
    );
    assert_eq!(
        kinds(&out, 1),
        [4, 8, 4, 8, 1, 2, 1, 2, 4].map(|size| W { size })
    );
    let mut simd: Vec<SiteKind> = [16, 8, 8, 8, 8, 8, 8, 1, 2, 4, 8, 4, 8]
        .map(|size| R { size })
        .to_vec();
    simd.push(W { size: 16 });
    simd.extend([1, 2, 4, 8].map(|size| R { size }));
    simd.extend([1, 2, 4, 8].map(|size| W { size }));
    assert_eq!(kinds(&out, 2), simd);
}

#[test]
fn sites_point_at_the_input_access_instructions() {
    let (input, out) = run(PLAIN, &Options::default());
    let accesses: Vec<_> = instructions(&input)
        .into_iter()
        .filter(|i| i.memory == Some(0) && (i.op.contains("Load") || i.op.contains("Store")))
        .collect();
    let sites: Vec<_> = out.sites.iter().filter(|s| s.kind.is_buffered()).collect();
    assert_eq!(sites.len(), accesses.len());
    for (site, ins) in sites.iter().zip(&accesses) {
        assert_eq!(
            (site.func, site.offset),
            (ins.func, ins.offset),
            "{}",
            ins.op
        );
        assert_eq!(site.body_offset, ins.offset - ins.body_start);
    }
    let (hooks, records) = check_site_locations(&input, &out);
    assert_eq!(hooks, 0);
    assert_eq!(records, sites.len());
}

#[test]
fn private_memory_and_dead_code_are_handled() {
    let (_, out) = run(PLAIN, &Options::default());
    assert!(
        kinds(&out, 3).is_empty(),
        "private memory accesses are not logged"
    );
    // Accesses in unreachable code still validate and are still sites.
    assert_eq!(
        kinds(&out, 4),
        [SiteKind::Read { size: 8 }, SiteKind::Write { size: 8 }]
    );
}

#[test]
fn record_carries_the_effective_address_offset() {
    // The memarg offset of `i32.load offset=4` must reach the record: the inline sequence adds it.
    let (_, out) = run(PLAIN, &Options::default());
    let outs = instructions(&out.wasm);
    let first = out
        .offset_map
        .entries
        .iter()
        .position(|&(_, old)| old == out.sites[0].offset);
    let start = out.offset_map.entries[first.unwrap()].0;
    let seq: Vec<_> = outs
        .iter()
        .skip_while(|i| i.offset < start)
        .take(8)
        .collect();
    assert!(
        seq.iter().any(|i| i.i32_const == Some(4)),
        "offset 4 added to the recorded address: {seq:#?}"
    );
}

#[test]
fn no_shared_memory_means_no_access_sites_unless_all_memories() {
    let wat = r#"(module (memory 1)
        (func (param i32) (result i32) (i32.load (local.get 0))))"#;
    let (_, out) = run(wat, &Options::default());
    assert!(out.sites.is_empty());
    assert_eq!(out.instrumented_memory, None);
    let opts = Options {
        all_memories: true,
        ..Options::default()
    };
    let (_, out) = run(wat, &opts);
    assert_eq!(out.instrumented_memory, Some(0));
    assert_eq!(out.sites.len(), 1);
    assert_eq!(out.sites[0].kind, SiteKind::Read { size: 4 });
}

#[test]
fn imported_shared_memory_is_instrumented() {
    let wat = r#"(module (import "env" "memory" (memory 1 10 shared))
        (func (param i32) (i64.store (local.get 0) (i64.const 0))))"#;
    let (_, out) = run(wat, &Options::default());
    assert_eq!(out.instrumented_memory, Some(0));
    assert_eq!(out.events_memory, 1);
    assert_eq!(out.sites.len(), 1);
    assert_eq!(out.sites[0].kind, SiteKind::Write { size: 8 });
}
