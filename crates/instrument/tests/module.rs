//! Module-level rewriting: imports, exports, start, elements, names, custom sections, options.

mod common;

use common::{instructions, run, validate};
use wasmgrind_instrument::{
    instrument, instrument_with_mode, Hook, InstrumentError, Options, RecordMode, SiteKind,
    CURSOR_EXPORT, EVENTS_EXPORT, IMPORT_MODULE,
};
use wasmparser::{ExternalKind, KnownCustom, Name, Parser, Payload, TypeRef};

const MODULE: &str = r#"
(module $m
  (import "env" "memory" (memory 1 1 shared))
  (import "env" "g" (global $g i32))
  (import "env" "f" (func $f (param i32)))
  (table 1 funcref)
  (elem (i32.const 0) $target)
  (global $fref funcref (ref.func $target))
  (func $target (param $arg i32) (local $loc i64)
    (call $f (i32.load (local.get $arg))))
  (func $start (i32.store (i32.const 0) (global.get $g)))
  (start $start)
  (export "target" (func $target))
  (export "start" (func $start))
  (@custom "keep-me" "payload")
  (@custom ".debug_info" "dwarf")
  (@custom "sourceMappingURL" "x.map")
)
"#;

struct Parsed {
    imports: Vec<(String, String, Option<u32>)>,
    exports: Vec<(String, ExternalKind, u32)>,
    start: Option<u32>,
    elem_funcs: Vec<u32>,
    customs: Vec<String>,
    func_names: Vec<(u32, String)>,
    local_names: Vec<(u32, u32, String)>,
    module_name: Option<String>,
    memories: Vec<wasmparser::MemoryType>,
    globals: Vec<wasmparser::GlobalType>,
}

fn parse(wasm: &[u8]) -> Parsed {
    let mut p = Parsed {
        imports: vec![],
        exports: vec![],
        start: None,
        elem_funcs: vec![],
        customs: vec![],
        func_names: vec![],
        local_names: vec![],
        module_name: None,
        memories: vec![],
        globals: vec![],
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    let ty = match i.ty {
                        TypeRef::Func(t) => Some(t),
                        TypeRef::Memory(m) => {
                            p.memories.push(m);
                            None
                        }
                        TypeRef::Global(g) => {
                            p.globals.push(g);
                            None
                        }
                        _ => None,
                    };
                    p.imports.push((i.module.into(), i.name.into(), ty));
                }
            }
            Payload::MemorySection(r) => p.memories.extend(r.into_iter().map(|m| m.unwrap())),
            Payload::GlobalSection(r) => p.globals.extend(r.into_iter().map(|g| g.unwrap().ty)),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    p.exports.push((e.name.into(), e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => p.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    if let wasmparser::ElementItems::Functions(fs) = e.unwrap().items {
                        p.elem_funcs.extend(fs.into_iter().map(|f| f.unwrap()));
                    }
                }
            }
            Payload::CustomSection(c) => {
                p.customs.push(c.name().into());
                if let KnownCustom::Name(names) = c.as_known() {
                    for n in names {
                        match n.unwrap() {
                            Name::Module { name, .. } => p.module_name = Some(name.into()),
                            Name::Function(m) => {
                                for n in m {
                                    let n = n.unwrap();
                                    p.func_names.push((n.index, n.name.into()));
                                }
                            }
                            Name::Local(m) => {
                                for f in m {
                                    let f = f.unwrap();
                                    for n in f.names {
                                        let n = n.unwrap();
                                        p.local_names.push((f.index, n.index, n.name.into()));
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    p
}

#[test]
fn hooks_are_the_first_function_imports() {
    let (_, out) = run(MODULE, &Options::default());
    let p = parse(&out.wasm);
    let funcs: Vec<_> = p.imports.iter().filter(|i| i.2.is_some()).collect();
    for (n, h) in Hook::ALL.iter().enumerate() {
        assert_eq!(funcs[n].0, IMPORT_MODULE);
        assert_eq!(funcs[n].1, h.name());
        assert_eq!(h.func_index(), n as u32);
    }
    assert_eq!(funcs[Hook::COUNT as usize].1, "f");
    assert_eq!(funcs.len(), Hook::COUNT as usize + 1);
}

#[test]
fn hook_import_types_match_the_abi() {
    let (_, out) = run(MODULE, &Options::default());
    let types = wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out.wasm)
        .unwrap();
    for h in Hook::ALL {
        let types = types.as_ref();
        let ty = types.core_function_at(h.func_index());
        let sub = types.get(ty).unwrap();
        let f = sub.unwrap_func();
        let parsed = |types: &[wasmparser::ValType]| -> Vec<Vt> {
            types
                .iter()
                .map(|p| match p {
                    wasmparser::ValType::I32 => Vt::I32,
                    wasmparser::ValType::I64 => Vt::I64,
                    other => panic!("unexpected {other:?}"),
                })
                .collect()
        };
        let abi = |types: &[wasm_encoder::ValType]| types.iter().map(enc).collect::<Vec<_>>();
        assert_eq!(parsed(f.params()), abi(h.params()), "{h:?} params");
        assert_eq!(parsed(f.results()), abi(h.results()), "{h:?} results");
    }
}

#[derive(Debug, PartialEq)]
enum Vt {
    I32,
    I64,
}

fn enc(v: &wasm_encoder::ValType) -> Vt {
    match v {
        wasm_encoder::ValType::I32 => Vt::I32,
        wasm_encoder::ValType::I64 => Vt::I64,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn exports_start_and_elements_keep_their_bodies() {
    let (input, out) = run(MODULE, &Options::default());
    let (pi, po) = (parse(&input), parse(&out.wasm));
    let shift = Hook::COUNT;
    for (name, kind, index) in &pi.exports {
        let o = po.exports.iter().find(|e| &e.0 == name).unwrap();
        assert_eq!(o.1, *kind);
        assert_eq!(o.2, index + shift, "{name}");
        assert_eq!(out.func_map.to_input(o.2), Some(*index));
    }
    assert_eq!(po.start, pi.start.map(|s| s + shift));
    assert_eq!(
        po.elem_funcs,
        pi.elem_funcs.iter().map(|f| f + shift).collect::<Vec<_>>()
    );
    // ref.func in a global initializer is shifted too.
    let text = common::print(&out.wasm);
    assert!(text.contains(&format!("ref.func {}", 1 + shift)) || text.contains("ref.func $target"));
    // The start body still stores to the shared memory and has its site.
    let start_site = out
        .sites
        .iter()
        .find(|s| s.func == pi.start.unwrap())
        .unwrap();
    assert_eq!(start_site.kind, SiteKind::Write { size: 4 });
}

#[test]
fn buffer_memory_and_cursor_are_exported() {
    let opts = Options {
        buffer_bytes: 3 * 65536 + 8,
        ..Options::default()
    };
    let (_, out) = run(MODULE, &opts);
    let p = parse(&out.wasm);
    let ev = p.exports.iter().find(|e| e.0 == EVENTS_EXPORT).unwrap();
    assert_eq!((ev.1, ev.2), (ExternalKind::Memory, out.events_memory));
    assert_eq!(out.events_memory, 1);
    let mem = p.memories[out.events_memory as usize];
    assert!(!mem.shared && !mem.memory64);
    assert_eq!(mem.initial, 4, "capacity fits in the memory");
    assert_eq!(out.buffer_capacity, 3 * 65536 + 8);
    let cur = p.exports.iter().find(|e| e.0 == CURSOR_EXPORT).unwrap();
    assert_eq!((cur.1, cur.2), (ExternalKind::Global, out.cursor_global));
    assert_eq!(
        out.cursor_global, 2,
        "after the imported and the defined global"
    );
    let g = p.globals[out.cursor_global as usize];
    assert!(g.mutable);
    assert_eq!(g.content_type, wasmparser::ValType::I32);
}

#[test]
fn the_capacity_constant_is_compared_against_the_cursor() {
    let opts = Options {
        buffer_bytes: 4096,
        ..Options::default()
    };
    let (_, out) = run(MODULE, &opts);
    let outs = instructions(&out.wasm);
    let flushes = outs
        .iter()
        .enumerate()
        .filter(|(_, i)| i.call_target == Some(Hook::Flush.func_index()))
        .count();
    assert_eq!(
        flushes,
        out.sites.iter().filter(|s| s.kind.is_buffered()).count()
    );
    assert!(outs.iter().any(|i| i.i32_const == Some(4096)));
}

#[test]
fn names_are_kept_shifted_and_extended() {
    let (input, out) = run(MODULE, &Options::default());
    let (pi, po) = (parse(&input), parse(&out.wasm));
    assert_eq!(po.module_name.as_deref(), Some("m"));
    for (idx, name) in &pi.func_names {
        assert!(
            po.func_names.contains(&(idx + Hook::COUNT, name.clone())),
            "{name}"
        );
    }
    for h in Hook::ALL {
        assert!(po
            .func_names
            .contains(&(h.func_index(), format!("wasmgrind::{}", h.name()))));
    }
    assert!(!pi.local_names.is_empty());
    for (f, l, name) in &pi.local_names {
        assert!(po
            .local_names
            .contains(&(f + Hook::COUNT, *l, name.clone())));
    }
}

#[test]
fn offset_dependent_custom_sections_are_dropped() {
    let (input, out) = run(MODULE, &Options::default());
    let (pi, po) = (parse(&input), parse(&out.wasm));
    assert!(pi.customs.contains(&".debug_info".to_string()));
    assert!(po.customs.contains(&"keep-me".to_string()));
    assert!(po.customs.contains(&"name".to_string()));
    assert!(!po.customs.iter().any(|c| c.starts_with(".debug_")));
    assert!(!po.customs.contains(&"sourceMappingURL".to_string()));
}

#[test]
fn skipped_functions_are_copied_plain_but_still_mapped() {
    let input = wat::parse_str(MODULE).unwrap();
    let opts = Options {
        skip_functions: vec![1],
        ..Options::default()
    };
    let out = instrument(&input, &opts).unwrap();
    validate(&out.wasm);
    assert!(out.sites.iter().all(|s| s.func != 1));
    assert!(out.sites.iter().any(|s| s.func == 2));
    let body = out
        .offset_map
        .bodies
        .iter()
        .find(|b| b.input_func == 1)
        .unwrap();
    let first = instructions(&input)
        .into_iter()
        .find(|i| i.func == 1)
        .unwrap();
    let new_first = instructions(&out.wasm)
        .into_iter()
        .find(|i| i.offset >= body.instrumented.start)
        .unwrap();
    assert_eq!(out.offset_map.lookup(new_first.offset), Some(first.offset));
}

#[test]
fn every_input_instruction_is_in_the_offset_map() {
    for mode in [RecordMode::Inline, RecordMode::Helper] {
        let input = wat::parse_str(MODULE).unwrap();
        let out = instrument_with_mode(&input, &Options::default(), mode).unwrap();
        validate(&out.wasm);
        let olds: Vec<u32> = instructions(&input).iter().map(|i| i.offset).collect();
        let mapped: Vec<u32> = out.offset_map.entries.iter().map(|e| e.1).collect();
        assert_eq!(mapped, olds);
        assert!(out.offset_map.entries.windows(2).all(|w| w[0].0 < w[1].0));
        // Every output instruction inside a body from the input maps to an input instruction of
        // that same function; helper and hook code maps to nothing.
        for ins in instructions(&out.wasm) {
            match out.func_map.to_input(ins.func) {
                Some(f) => {
                    let old = out.offset_map.lookup(ins.offset).expect("mapped");
                    let orig = instructions(&input)
                        .into_iter()
                        .find(|i| i.offset == old)
                        .unwrap();
                    assert_eq!(orig.func, f);
                }
                None => assert_eq!(out.offset_map.lookup(ins.offset), None),
            }
        }
    }
}

#[test]
fn helper_mode_calls_the_helper_per_record() {
    let input = wat::parse_str(MODULE).unwrap();
    let out = instrument_with_mode(&input, &Options::default(), RecordMode::Helper).unwrap();
    validate(&out.wasm);
    let helper = Hook::COUNT + out.func_map.input_funcs;
    assert_eq!(out.func_map.helper_funcs, 1);
    let calls = instructions(&out.wasm)
        .iter()
        .filter(|i| i.call_target == Some(helper))
        .count();
    assert_eq!(
        calls,
        out.sites.iter().filter(|s| s.kind.is_buffered()).count()
    );
}

#[test]
fn sections_missing_from_the_input_are_created() {
    for wat in [
        "(module)",
        "(module (func))",
        "(module (memory 1 1 shared) (func (param i32) (drop (i32.load (local.get 0)))))",
        "(module (global i32 (i32.const 1)) (export \"g\" (global 0)))",
    ] {
        for mode in [RecordMode::Inline, RecordMode::Helper] {
            let input = wat::parse_str(wat).unwrap();
            let out = instrument_with_mode(&input, &Options::default(), mode).unwrap();
            validate(&out.wasm);
            let p = parse(&out.wasm);
            assert!(p.exports.iter().any(|e| e.0 == EVENTS_EXPORT), "{wat}");
        }
    }
}

#[test]
fn bad_input_and_options_are_errors() {
    let input = wat::parse_str(MODULE).unwrap();
    for bytes in [4, 0, 12] {
        let opts = Options {
            buffer_bytes: bytes,
            ..Options::default()
        };
        assert!(matches!(
            instrument(&input, &opts),
            Err(InstrumentError::InvalidOptions(_))
        ));
    }
    assert!(matches!(
        instrument(b"\0asm\x01\0\0\0\x01\xff", &Options::default()),
        Err(InstrumentError::Parse { .. })
    ));
    assert!(instrument(b"not wasm", &Options::default()).is_err());
    let m64 = wat::parse_str("(module (memory i64 1 1 shared))").unwrap();
    let err = instrument(&m64, &Options::default()).unwrap_err();
    assert!(err.to_string().contains("memory64"), "{err}");
    let two = wat::parse_str("(module (memory 1 1 shared) (memory 1 1 shared))").unwrap();
    assert!(matches!(
        instrument(&two, &Options::default()),
        Err(InstrumentError::Unsupported(_))
    ));
    let clash =
        wat::parse_str(r#"(module (memory 1) (export "__wasmgrind_events" (memory 0)))"#).unwrap();
    assert!(matches!(
        instrument(&clash, &Options::default()),
        Err(InstrumentError::ExportClash(_))
    ));
}
