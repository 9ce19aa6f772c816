//! The in-module repeat filter (`Options::filter_repeats`): instrumented modules run under
//! wasmtime with hooks that record what reaches the host, so each test sees exactly which
//! accesses left wasm.

mod common;

use wasmgrind_instrument::{
    instrument, Hook, Instrumented, Options, PlainPolicy, SiteKind, CURSOR_EXPORT, EVENTS_EXPORT,
    GENERATION_EXPORT, IMPORT_MODULE, RECORD_SIZE,
};
use wasmtime::{Caller, Config, Engine, Extern, Instance, Linker, Module, Store, Val};

/// Every function reads or syncs once; `$p` is the address.
const MODULE: &str = r#"
(module
  (import "env" "ext" (func $ext))
  (memory 1 1 shared)
  (type $v (func))
  (table 1 funcref)
  (elem (i32.const 0) $ext)
  (func (export "read") (param $p i32) (drop (i32.load (local.get $p))))
  (func (export "read_other_site") (param $p i32) (drop (i32.load (local.get $p))))
  (func (export "write") (param $p i32) (i64.store offset=8 (local.get $p) (i64.const 7)))
  (func (export "always") (param $p i32) (drop (i32.load (local.get $p))))
  (func (export "skip") (param $p i32) (i32.store (local.get $p) (i32.const 1)))
  (func (export "fence") atomic.fence)
  (func (export "atomic") (param $p i32) (drop (i32.atomic.load (local.get $p))))
  (func (export "notify") (param $p i32) (drop (memory.atomic.notify (local.get $p) (i32.const 1))))
  (func (export "wait") (param $p i32)
    (drop (memory.atomic.wait32 (local.get $p) (i32.const 0) (i64.const 0))))
  (func (export "import") (call $ext))
  (func (export "indirect") (call_indirect (type $v) (i32.const 0)))
  (func (export "tail_import") (return_call $ext))
  (func (export "bulk") (param $p i32) (memory.fill (local.get $p) (i32.const 0) (i32.const 4)))
  (func (export "sum") (param $p i32) (param $n i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s))
)
"#;

/// The exports whose one plain site gets a policy other than `Filter`.
const ALWAYS_FUNC: u32 = 4;
const SKIP_FUNC: u32 = 5;

/// Records `(addr, site)` that reached the host, drained at `flush` and after each call.
#[derive(Default)]
struct Host {
    records: Vec<(u32, u32)>,
}

/// An instance of [`MODULE`] instrumented with `opts`, plus its site table.
struct Harness {
    store: Store<Host>,
    instance: Instance,
    out: Instrumented,
}

/// `flush(flushed)`: takes the buffered records; `flushed` must be the cursor's value.
fn drain(caller: &mut Caller<'_, Host>, flushed: i32) {
    let memory = caller
        .get_export(EVENTS_EXPORT)
        .and_then(Extern::into_memory)
        .expect("events memory");
    let cursor = caller
        .get_export(CURSOR_EXPORT)
        .and_then(Extern::into_global)
        .expect("cursor");
    let len = cursor.get(&mut *caller).unwrap_i32();
    assert_eq!(flushed, len, "flush passes the cursor");
    let len = len as usize;
    let data = memory.data(&*caller)[..len].to_vec();
    for record in data.chunks_exact(RECORD_SIZE as usize) {
        let addr = u32::from_le_bytes(record[0..4].try_into().unwrap());
        let site = u32::from_le_bytes(record[4..8].try_into().unwrap());
        caller.data_mut().records.push((addr, site));
    }
    cursor.set(&mut *caller, Val::I32(0)).unwrap();
}

impl Harness {
    /// Instruments [`MODULE`] with the filter on: every plain site `Filter`, except the
    /// `always` and `skip` functions' sites.
    fn new() -> Self {
        Self::with(|out| {
            out.sites
                .iter()
                .map(|site| match site.func {
                    ALWAYS_FUNC => PlainPolicy::Always,
                    SKIP_FUNC => PlainPolicy::Skip,
                    _ => PlainPolicy::Filter,
                })
                .collect()
        })
    }

    /// Instruments [`MODULE`] with the filter on and the policy `policy` computes from a
    /// first pass's sites.
    fn with(policy: impl Fn(&Instrumented) -> Vec<PlainPolicy>) -> Self {
        Self::of(MODULE, policy)
    }

    /// Instruments `source` with the filter on and every plain site `Filter`.
    fn filtered(source: &str) -> Self {
        Self::of(source, |out| vec![PlainPolicy::Filter; out.sites.len()])
    }

    /// Instruments `source` with the filter on and the policy `policy` computes from a
    /// first pass's sites.
    fn of(source: &str, policy: impl Fn(&Instrumented) -> Vec<PlainPolicy>) -> Self {
        let input = wat::parse_str(source).unwrap();
        let base = Options {
            filter_repeats: true,
            buffer_bytes: 4 * RECORD_SIZE,
            ..Options::default()
        };
        let first = instrument(&input, &base).unwrap();
        let opts = Options {
            plain_policy: policy(&first),
            ..base
        };
        let out = instrument(&input, &opts).unwrap();
        assert_eq!(out.sites, first.sites, "the policy does not renumber sites");
        common::validate(&out.wasm);
        Self::run(out)
    }

    /// Instantiates `out` with hooks that only collect records (`env.ext` does nothing).
    fn run(out: Instrumented) -> Self {
        let wasm = &out.wasm;
        let mut config = Config::new();
        config
            .wasm_threads(true)
            .shared_memory(true)
            .wasm_function_references(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let mut linker = Linker::<Host>::new(&engine);
        linker
            .func_wrap(
                IMPORT_MODULE,
                Hook::Flush.name(),
                |mut c: Caller<'_, Host>, len: i32| drain(&mut c, len),
            )
            .unwrap();
        linker
            .func_wrap(
                IMPORT_MODULE,
                Hook::Atomic.name(),
                // Not performed: the module executes the instruction itself.
                |_: i32, _: i64, _: i32, _: i64, _: i64| -> (i64, i32) { (0, 1) },
            )
            .unwrap();
        linker
            .func_wrap(
                IMPORT_MODULE,
                Hook::AtomicEnd.name(),
                |_: i32, _: i64, _: i64, _: i64, _: i64| {},
            )
            .unwrap();
        linker
            .func_wrap(
                IMPORT_MODULE,
                Hook::WaitBegin.name(),
                |_: i32, _: i64, _: i64| {},
            )
            .unwrap();
        for hook in [Hook::WaitEnd, Hook::Notify] {
            linker
                .func_wrap(IMPORT_MODULE, hook.name(), |_: i32, _: i64, _: i32| {})
                .unwrap();
        }
        linker
            .func_wrap(IMPORT_MODULE, Hook::Fence.name(), |_: i32| {})
            .unwrap();
        linker
            .func_wrap(
                IMPORT_MODULE,
                Hook::Bulk.name(),
                |_: i32, _: i64, _: i64, _: i64| {},
            )
            .unwrap();
        linker.func_wrap("env", "ext", || {}).unwrap();
        let mut store = Store::new(&engine, Host::default());
        let instance = linker.instantiate(&mut store, &module).unwrap();
        Harness {
            store,
            instance,
            out,
        }
    }

    /// Calls export `name` with `args` and returns the records it logged (and its result).
    fn call_full(&mut self, name: &str, args: &[Val]) -> (Vec<(u32, u32)>, Vec<Val>) {
        let func = self.instance.get_func(&mut self.store, name).unwrap();
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, args, &mut results).unwrap();
        let memory = self
            .instance
            .get_memory(&mut self.store, EVENTS_EXPORT)
            .unwrap();
        let cursor = self
            .instance
            .get_global(&mut self.store, CURSOR_EXPORT)
            .unwrap();
        let len = cursor.get(&mut self.store).unwrap_i32() as usize;
        let data = memory.data(&self.store)[..len].to_vec();
        cursor.set(&mut self.store, Val::I32(0)).unwrap();
        let mut records = std::mem::take(&mut self.store.data_mut().records);
        records.extend(data.chunks_exact(8).map(|r| {
            (
                u32::from_le_bytes(r[0..4].try_into().unwrap()),
                u32::from_le_bytes(r[4..8].try_into().unwrap()),
            )
        }));
        (records, results)
    }

    /// Plain-access records (call records dropped) logged by `name(args)`.
    fn call(&mut self, name: &str, args: &[i32]) -> Vec<(u32, u32)> {
        let args: Vec<Val> = args.iter().map(|&a| Val::I32(a)).collect();
        let (records, _) = self.call_full(name, &args);
        records
            .into_iter()
            .filter(|&(_, site)| {
                matches!(
                    self.out.sites[site as usize].kind,
                    SiteKind::Read { .. } | SiteKind::Write { .. }
                )
            })
            .collect()
    }

    /// The one plain site of input function `func`.
    fn site(&self, func: u32) -> u32 {
        let mut plain = self.out.sites.iter().enumerate().filter(|(_, s)| {
            s.func == func && matches!(s.kind, SiteKind::Read { .. } | SiteKind::Write { .. })
        });
        let (index, _) = plain.next().expect("a plain site");
        assert!(plain.next().is_none());
        index as u32
    }

    fn generation(&mut self) -> i64 {
        self.instance
            .get_global(&mut self.store, GENERATION_EXPORT)
            .unwrap()
            .get(&mut self.store)
            .unwrap_i64()
    }
}

// Input function indices: the import is 0, then the exports in order.
const READ: u32 = 1;
const READ_OTHER: u32 = 2;
const WRITE: u32 = 3;

#[test]
fn repeats_of_one_access_log_once() {
    let mut h = Harness::new();
    let read = h.site(READ);
    assert_eq!(h.call("read", &[16]), [(16, read)]);
    assert_eq!(h.call("read", &[16]), [], "a repeat stays in wasm");
    assert_eq!(h.call("read", &[16]), []);
    let write = h.site(WRITE);
    assert_eq!(h.call("write", &[16]), [(24, write)], "offset included");
    assert_eq!(h.call("write", &[16]), []);
}

#[test]
fn another_site_or_address_logs() {
    let mut h = Harness::new();
    let (read, other) = (h.site(READ), h.site(READ_OTHER));
    assert_eq!(h.call("read", &[16]), [(16, read)]);
    assert_eq!(h.call("read_other_site", &[16]), [(16, other)]);
    assert_eq!(h.call("read", &[20]), [(20, read)]);
    assert_eq!(h.call("read", &[16]), [], "still remembered");
    assert_eq!(h.call("read_other_site", &[16]), []);
    // 17 shares 16's slot (addresses are hashed by word): it logs and evicts 16.
    assert_eq!(h.call("read", &[17]), [(17, read)], "byte addresses differ");
    assert_eq!(h.call("read", &[16]), [(16, read)]);
}

#[test]
fn synchronization_and_imports_make_repeats_log_again() {
    let mut h = Harness::new();
    let read = h.site(READ);
    for (sync, args) in [
        ("fence", &[][..]),
        ("atomic", &[64][..]),
        ("notify", &[64][..]),
        ("wait", &[64][..]),
        ("import", &[][..]),
        ("indirect", &[][..]),
        ("tail_import", &[][..]),
    ] {
        h.call("read", &[16]);
        assert_eq!(h.call("read", &[16]), [], "before {sync}");
        let before = h.generation();
        h.call(sync, args);
        assert!(h.generation() > before, "{sync} starts a new generation");
        assert_eq!(h.call("read", &[16]), [(16, read)], "after {sync}");
    }
}

/// A module whose table holds `$quiet`, called indirectly and by reference.
const TABLE_MODULE: &str = r#"
(module
  (import "env" "ext" (func $ext))
  (memory 1 1 shared)
  (type $v (func))
  (table 1 funcref)
  (elem (i32.const 0) $quiet)
  (elem declare func $quiet)
  (func $quiet)
  (func (export "read") (param $p i32) (drop (i32.load (local.get $p))))
  (func (export "indirect") (call_indirect (type $v) (i32.const 0)))
  (func (export "by_ref") (call_ref $v (ref.func $quiet)))
  (func (export "tail_indirect") (return_call_indirect (type $v) (i32.const 0)))
)
"#;

#[test]
fn indirect_calls_bump_only_when_an_import_may_be_reached_that_way() {
    let calls = ["indirect", "by_ref", "tail_indirect"];
    // Only the module's own functions can be reached: they bump after their own import
    // calls, so the indirect call itself need not.
    let mut h = Harness::filtered(TABLE_MODULE);
    for call in calls {
        h.call("read", &[16]);
        let before = h.generation();
        h.call(call, &[]);
        assert_eq!(h.generation(), before, "{call} keeps the generation");
        assert_eq!(h.call("read", &[16]), [], "after {call}");
    }
    // Each way an import could get into a table or a reference makes them bump.
    for (what, from, to) in [
        (
            "an import in the table",
            "(elem (i32.const 0) $quiet)",
            "(elem (i32.const 0) $ext)",
        ),
        (
            "an exported table",
            "(table 1 funcref)",
            "(table (export \"t\") 1 funcref)",
        ),
        (
            "a re-exported import",
            "(func $quiet)",
            "(func $quiet) (export \"e\" (func $ext))",
        ),
        (
            "a declared import",
            "(elem declare func $quiet)",
            "(elem declare func $ext)",
        ),
    ] {
        let source = TABLE_MODULE.replace(from, to);
        assert_ne!(source, TABLE_MODULE, "{what}: the edit applies");
        let mut h = Harness::filtered(&source);
        for call in calls {
            let before = h.generation();
            h.call(call, &[]);
            assert!(h.generation() > before, "{what}: {call} bumps");
        }
    }
}

#[test]
fn non_synchronizing_code_keeps_the_generation() {
    let mut h = Harness::new();
    let read = h.site(READ);
    assert_eq!(h.call("read", &[16]), [(16, read)]);
    let before = h.generation();
    h.call("bulk", &[128]);
    h.call("read_other_site", &[16]);
    h.call("sum", &[256, 8]);
    assert_eq!(
        h.generation(),
        before,
        "bulk and plain code do not synchronize"
    );
    assert_eq!(h.call("read", &[16]), []);
}

#[test]
fn always_sites_log_every_time_and_restart_filtering() {
    let mut h = Harness::new();
    let (read, always) = (h.site(READ), h.site(ALWAYS_FUNC));
    assert_eq!(h.call("read", &[16]), [(16, read)]);
    assert_eq!(h.call("always", &[32]), [(32, always)]);
    assert_eq!(h.call("always", &[32]), [(32, always)], "never filtered");
    assert_eq!(
        h.call("read", &[16]),
        [(16, read)],
        "a new generation began"
    );
    assert_eq!(h.call("read", &[16]), []);
}

#[test]
fn skip_sites_never_log_but_still_access_memory() {
    let mut h = Harness::new();
    assert_eq!(h.call("skip", &[40]), []);
    assert_eq!(h.call("skip", &[40]), []);
    // The store happened: the value is there for a filtered read to load.
    let read = h.site(READ);
    assert_eq!(h.call("read", &[40]), [(40, read)]);
    let (_, result) = h.call_full("sum", &[Val::I32(40), Val::I32(1)]);
    assert_eq!(result[0].unwrap_i32(), 1);
}

#[test]
fn filtered_loops_compute_the_same_and_log_each_address_once() {
    let mut h = Harness::new();
    // Memory is zero except what the stores below write.
    h.call("skip", &[300]);
    h.call("skip", &[304]);
    let sum_site = h.out.sites.iter().position(|s| s.func == 14).unwrap() as u32;
    let (records, result) = h.call_full("sum", &[Val::I32(296), Val::I32(4)]);
    assert_eq!(result[0].unwrap_i32(), 2);
    let plain: Vec<_> = records.iter().filter(|r| r.1 == sum_site).collect();
    assert_eq!(
        plain.len(),
        4,
        "4 addresses, each logged once (with a flush)"
    );
    let (records, result) = h.call_full("sum", &[Val::I32(296), Val::I32(4)]);
    assert_eq!(result[0].unwrap_i32(), 2);
    assert!(records.iter().all(|r| r.1 != sum_site), "all repeats");
}

#[test]
fn collisions_only_forget() {
    // Two slots: most addresses collide, and every access the table does not hold logs.
    let input = wat::parse_str(MODULE).unwrap();
    let first = instrument(&input, &Options::default()).unwrap();
    let opts = Options {
        filter_repeats: true,
        filter_slots: 2,
        buffer_bytes: 4 * RECORD_SIZE,
        plain_policy: vec![PlainPolicy::Filter; first.sites.len()],
        ..Options::default()
    };
    let out = instrument(&input, &opts).unwrap();
    common::validate(&out.wasm);
    let mut h = Harness::run(out);
    let read = h.site(READ);
    let mut held: Vec<Option<u32>> = vec![None; 2];
    for step in 0..200u32 {
        let addr = (step * 7 % 13) * 4;
        let logged = h.call("read", &[addr as i32]);
        let slot = ((addr >> 2).wrapping_add(read.wrapping_mul(0x9e37_79b1)) % 2) as usize;
        if held[slot] == Some(addr) {
            assert_eq!(logged, [], "step {step}: the slot holds {addr}");
        } else {
            assert_eq!(logged, [(addr, read)], "step {step}: {addr} is not held");
            held[slot] = Some(addr);
        }
    }
}

#[test]
fn without_the_option_every_access_logs_and_nothing_is_added() {
    let input = wat::parse_str(MODULE).unwrap();
    let opts = Options {
        plain_policy: vec![PlainPolicy::Filter; 64],
        ..Options::default()
    };
    let out = instrument(&input, &opts).unwrap();
    assert_eq!(out.filter, None);
    let mut h = Harness::run(out);
    assert!(h
        .instance
        .get_global(&mut h.store, GENERATION_EXPORT)
        .is_none());
    let read = h.site(READ);
    for _ in 0..3 {
        assert_eq!(h.call("read", &[16]), [(16, read)]);
    }
}

#[test]
fn the_table_follows_the_buffer_in_a_memory_large_enough() {
    let input = wat::parse_str(MODULE).unwrap();
    let opts = Options {
        filter_repeats: true,
        buffer_bytes: 65536 + 8,
        filter_slots: 1 << 12,
        ..Options::default()
    };
    let out = instrument(&input, &opts).unwrap();
    let layout = out.filter.expect("filter layout");
    assert_eq!(layout.table_offset, 65536 + 16);
    assert_eq!(layout.slots, 1 << 12);
    assert_eq!(layout.initial_slots, 1 << 12);
    assert_eq!(layout.end(), 65536 + 16 + (1 << 12) * 16);
    let mut h = Harness::run(out);
    let memory = h.instance.get_memory(&mut h.store, EVENTS_EXPORT).unwrap();
    assert!(memory.data_size(&h.store) as u64 >= layout.end());
    assert_eq!(h.generation(), 1);
}

/// Records of `sum(0, n)`'s load logged by `passes` passes in one generation, per pass.
fn sweep(max_slots: u32, n: i32, passes: usize) -> Vec<usize> {
    let input = wat::parse_str(MODULE).unwrap();
    let first = instrument(&input, &Options::default()).unwrap();
    let opts = Options {
        filter_repeats: true,
        filter_slots: max_slots,
        plain_policy: vec![PlainPolicy::Filter; first.sites.len()],
        ..Options::default()
    };
    let out = instrument(&input, &opts).unwrap();
    let mut h = Harness::run(out);
    let sum_site = h.out.sites.iter().position(|s| s.func == 14).unwrap() as u32;
    (0..passes)
        .map(|_| {
            let (records, _) = h.call_full("sum", &[Val::I32(0), Val::I32(n)]);
            records.iter().filter(|r| r.1 == sum_site).count()
        })
        .collect()
}

#[test]
fn a_working_set_larger_than_the_table_makes_it_grow_until_it_fits() {
    let n = 3 * wasmgrind_instrument::INITIAL_SLOTS as i32;
    let logged = sweep(1 << 14, n, 6);
    assert_eq!(logged[0], n as usize, "first pass: all new");
    assert_eq!(*logged.last().unwrap(), 0, "grown to hold all: {logged:?}");
    // Capped at the initial size, the same sweep keeps missing.
    let capped = sweep(wasmgrind_instrument::INITIAL_SLOTS, n, 6);
    assert!(
        *capped.last().unwrap() > n as usize / 2,
        "cannot grow: {capped:?}"
    );
}

#[test]
fn bad_table_sizes_are_rejected() {
    let input = wat::parse_str(MODULE).unwrap();
    for slots in [0, 1, 3, 1000, 1 << 25] {
        let opts = Options {
            filter_repeats: true,
            filter_slots: slots,
            ..Options::default()
        };
        assert!(
            matches!(
                instrument(&input, &opts),
                Err(wasmgrind_instrument::InstrumentError::InvalidOptions(_))
            ),
            "{slots} slots"
        );
    }
}
