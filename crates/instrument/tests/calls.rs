//! Calls are bracketed by CallEnter/CallExit records; tail calls and own imports are not.

mod common;

use common::{check_site_locations, instructions, run};
use wasmgrind_instrument::{Hook, Options, SiteKind};

const CALLS: &str = r#"
(module
  (import "wasmgrind" "custom" (func $own))
  (import "env" "ext" (func $ext (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $callee $ext)
  (elem declare func $callee)
  (func $callee (type $t) (local.get 0))
  (func $caller (param $x i32) (result i32)
    (drop (call $callee (local.get $x)))
    (drop (call $ext (i32.const 1)))
    (call $own)
    (drop (call_indirect (type $t) (i32.const 5) (i32.const 0)))
    (drop (call_ref $t (i32.const 6) (ref.func $callee)))
    (return_call $callee (local.get $x)))
  (func $tail (param i32) (result i32)
    (return_call_indirect (type $t) (local.get 0) (i32.const 1)))
)
"#;

#[test]
fn calls_get_enter_and_exit_sites_at_the_call() {
    let (input, out) = run(CALLS, &Options::default());
    let caller = 3; // two imports, then $callee
    let sites: Vec<_> = out.sites.iter().filter(|s| s.func == caller).collect();
    // call $callee, call $ext, call_indirect, call_ref: 2 sites each; $own and the tail call: none.
    assert_eq!(sites.len(), 8);
    let calls: Vec<_> = instructions(&input)
        .into_iter()
        .filter(|i| {
            i.func == caller && (i.op.starts_with("Call") || i.op.starts_with("ReturnCall"))
        })
        .collect();
    assert_eq!(calls.len(), 6);
    let logged = [&calls[0], &calls[1], &calls[3], &calls[4]];
    for (pair, call) in sites.chunks(2).zip(logged) {
        assert_eq!(pair[0].kind, SiteKind::CallEnter);
        assert_eq!(pair[1].kind, SiteKind::CallExit);
        assert_eq!(pair[0].offset, call.offset, "{}", call.op);
        assert_eq!(pair[1].offset, call.offset);
    }
    assert!(
        out.sites.iter().all(|s| s.func != 4),
        "tail calls are plain"
    );
    let (_, records) = check_site_locations(&input, &out);
    assert_eq!(records, 8);
}

#[test]
fn call_stacks_can_be_turned_off() {
    let opts = Options {
        call_stacks: false,
        ..Options::default()
    };
    let (_, out) = run(CALLS, &opts);
    assert!(out.sites.is_empty());
}

#[test]
fn call_targets_are_shifted_past_the_hooks() {
    let (input, out) = run(CALLS, &Options::default());
    let before: Vec<u32> = instructions(&input)
        .iter()
        .filter_map(|i| i.call_target)
        .collect();
    let after: Vec<u32> = instructions(&out.wasm)
        .iter()
        .filter_map(|i| i.call_target)
        .filter(|&t| t >= Hook::COUNT)
        .collect();
    assert_eq!(
        after,
        before.iter().map(|t| t + Hook::COUNT).collect::<Vec<_>>()
    );
    for t in before {
        assert_eq!(out.func_map.to_input(t + Hook::COUNT), Some(t));
    }
    assert_eq!(out.func_map.to_input(Hook::Flush.func_index()), None);
}
