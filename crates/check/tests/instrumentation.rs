//! `check`'s instrumentation: the sites the checker classifies get the matching policy in
//! the module it runs (C library synchronization always logged, the allocator's bookkeeping
//! and its spin lock's polls never, the program's accesses filtered).

use wasmgrind_check::{instrument, RecordClass};
use wasmgrind_instrument::{PlainPolicy, SiteKind};
use wasmgrind_report::Symbolizer;
use wasmgrind_runtime::CodeMap;

const MODULE: &str = r#"
(module
  (memory 1 1 shared)
  (func $user (param i32) (result i32) (i32.load (local.get 0)))
  (func $pthread_mutex_lock (param i32) (result i32) (i32.load (local.get 0)))
  (func $malloc (param i32) (i32.store (local.get 0) (i32.const 1)))
  (func $caller (param i32) (result i32) (call $user (local.get 0)))
  (func $spin_acquire_lock (param i32) (result i32) (i32.load (local.get 0)))
)
"#;

#[test]
fn plain_sites_get_the_policy_of_their_class() {
    let wasm = wat::parse_str(MODULE).unwrap();
    let symbolizer = Symbolizer::new(&wasm).unwrap();
    let code_map = CodeMap::new(&wasm, &wasm, None).unwrap();
    let module = instrument(&wasm, &symbolizer, &code_map).unwrap();
    let sites = &module.instrumented.sites;
    assert!(module.instrumented.filter.is_some(), "the filter is on");
    assert_eq!(module.classes.records.len(), sites.len());
    let policy = module.classes.plain_policy();
    let by_func = |func: u32| {
        let i = sites.iter().position(|s| s.func == func).unwrap();
        (sites[i].kind, module.classes.records[i], policy[i])
    };
    assert_eq!(
        by_func(0),
        (
            SiteKind::Read { size: 4 },
            RecordClass::Check {
                size: 4,
                write: false
            },
            PlainPolicy::Filter
        )
    );
    assert_eq!(
        by_func(1),
        (
            SiteKind::Read { size: 4 },
            RecordClass::AsAtomic {
                size: 4,
                write: false
            },
            PlainPolicy::Always
        )
    );
    assert_eq!(
        by_func(2),
        (
            SiteKind::Write { size: 4 },
            RecordClass::Ignore,
            PlainPolicy::Skip
        )
    );
    assert_eq!(
        by_func(3),
        (SiteKind::CallEnter, RecordClass::Enter, PlainPolicy::Always)
    );
    // dlmalloc's spin lock polling its word: ignored, unlike other C library
    // synchronization (its compare-exchange takes the lock).
    assert_eq!(
        by_func(4),
        (
            SiteKind::Read { size: 4 },
            RecordClass::Ignore,
            PlainPolicy::Skip
        )
    );
}
