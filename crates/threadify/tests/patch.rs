//! Threadify on hand-written modules shaped like wasm-ld's output for threadlink guests.

use std::collections::HashMap;

use wasmgrind_threadify::{
    features, is_threadified, is_threadlink_module, threadify, threadify_with, ThreadifyError,
    ThreadifyOptions, DESTROY_EXPORT, RESERVED_PAGE_EXPORT,
};
use wasmparser::{ExternalKind, KnownCustom, Name, Parser, Payload, TypeRef, Validator};

/// A threadlink module like wasm-ld emits for `+atomics` with `--shared-memory`: names kept,
/// TLS globals, `__wasm_init_memory` as start, a bump allocator behind the exports.
/// `$memory`, `$extra` and `$exports` are spliced in by the tests to make variants.
fn module(memory: &str, extra: &str, exports: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "wasm_threadlink" "thread_create" (func $thread_create (param i32 i32) (result i32)))
  (import "wasm_threadlink" "thread_join" (func $thread_join (param i32) (result i32)))
  {memory}
  (global $__stack_pointer (mut i32) (i32.const 65536))
  (global $__tls_base (mut i32) (i32.const 0))
  (global $__tls_size i32 (i32.const 16))
  (global $__tls_align i32 (i32.const 4))
  (global $heap (mut i32) (i32.const 131072))
  (func $__wasm_init_tls (param i32)
    local.get 0
    global.set $__tls_base
    local.get 0
    i32.const 0
    i32.const 16
    memory.init $tdata)
  (func $__wasm_init_memory
    i32.const 70000
    global.set $__tls_base
    i32.const 70000
    i32.const 0
    i32.const 16
    memory.init $tdata)
  (func $malloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    global.get $heap
    local.get $align
    i32.add
    i32.const 1
    i32.sub
    i32.const 0
    local.get $align
    i32.sub
    i32.and
    local.tee $p
    local.get $size
    i32.add
    global.set $heap
    local.get $p)
  (func $free (param i32 i32 i32))
  (func $thread_start (param i32)
    (local $tid i32)
    local.get 0
    drop)
  (func $work (result i32)
    global.get $__stack_pointer
    i32.const 16
    i32.sub
    global.set $__stack_pointer
    i32.const 0
    i32.const 1
    call $thread_create)
  {extra}
  {exports}
  (start $__wasm_init_memory)
  (data $tdata "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  (@custom ".debug_info" "dwarf bytes")
  (@custom "producers" "producer bytes")
)"#
    );
    wat::parse_str(text).expect("test module parses")
}

const SHARED_IMPORT: &str = r#"(import "env" "memory" (memory 2 16384 shared))"#;
const ALL_EXPORTS: &str = r#"
  (export "thread_start" (func $thread_start))
  (export "__wasmgrind_malloc" (func $malloc))
  (export "__wasmgrind_free" (func $free))
  (export "work" (func $work))"#;

fn good() -> Vec<u8> {
    module(SHARED_IMPORT, "", ALL_EXPORTS)
}

fn validate(wasm: &[u8]) {
    Validator::new_with_features(features())
        .validate_all(wasm)
        .expect("output validates");
}

/// Code section payload offset and each body's byte range relative to it.
fn bodies(wasm: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut code_start = 0;
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::CodeSectionStart { range, .. } => code_start = range.start,
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                out.push((range.start - code_start, wasm[range].to_vec()));
            }
            _ => {}
        }
    }
    out
}

struct Summary {
    imports: Vec<(String, String, TypeRef)>,
    exports: HashMap<String, (ExternalKind, u32)>,
    start: Option<u32>,
    memories_defined: u32,
    customs: Vec<(String, Vec<u8>)>,
    function_names: HashMap<u32, String>,
    global_names: HashMap<u32, String>,
    globals: usize,
}

fn summary(wasm: &[u8]) -> Summary {
    let mut s = Summary {
        imports: vec![],
        exports: HashMap::new(),
        start: None,
        memories_defined: 0,
        customs: vec![],
        function_names: HashMap::new(),
        global_names: HashMap::new(),
        globals: 0,
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    s.imports.push((i.module.into(), i.name.into(), i.ty));
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    s.exports.insert(e.name.into(), (e.kind, e.index));
                }
            }
            Payload::MemorySection(r) => s.memories_defined = r.count(),
            Payload::GlobalSection(r) => s.globals = r.count() as usize,
            Payload::StartSection { func, .. } => s.start = Some(func),
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    for n in names {
                        match n.unwrap() {
                            Name::Function(map) => {
                                for n in map {
                                    let n = n.unwrap();
                                    s.function_names.insert(n.index, n.name.into());
                                }
                            }
                            Name::Global(map) => {
                                for n in map {
                                    let n = n.unwrap();
                                    s.global_names.insert(n.index, n.name.into());
                                }
                            }
                            _ => {}
                        }
                    }
                }
                s.customs.push((c.name().into(), c.data().to_vec()));
            }
            _ => {}
        }
    }
    s
}

/// Operators of defined function `index` (absolute function index).
fn operators(wasm: &[u8], index: u32) -> Vec<String> {
    let imported = summary(wasm)
        .imports
        .iter()
        .filter(|(_, _, t)| matches!(t, TypeRef::Func(_)))
        .count() as u32;
    let mut n = imported;
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            if n == index {
                return body
                    .get_operators_reader()
                    .unwrap()
                    .into_iter()
                    .map(|op| format!("{:?}", op.unwrap()))
                    .collect();
            }
            n += 1;
        }
    }
    panic!("no function {index}")
}

fn calls(ops: &[String]) -> Vec<u32> {
    ops.iter()
        .filter_map(|op| op.strip_prefix("Call { function_index: "))
        .map(|rest| rest.trim_end_matches(" }").parse().unwrap())
        .collect()
}

#[test]
fn output_validates_and_is_recognized() {
    let input = good();
    assert!(is_threadlink_module(&input));
    assert!(!is_threadified(&input));
    let output = threadify(&input).unwrap();
    validate(&output);
    assert!(is_threadified(&output));
    assert!(is_threadlink_module(&output));
    assert!(matches!(
        threadify(&output),
        Err(ThreadifyError::AlreadyThreadified)
    ));
}

#[test]
fn original_bodies_keep_bytes_and_offsets() {
    let input = good();
    let output = threadify(&input).unwrap();
    let before = bodies(&input);
    let after = bodies(&output);
    assert_eq!(after.len(), before.len() + 4, "four functions appended");
    assert_eq!(&after[..before.len()], &before[..]);
}

#[test]
fn indices_imports_and_custom_sections_are_kept() {
    let input = good();
    let output = threadify(&input).unwrap();
    let (a, b) = (summary(&input), summary(&output));
    assert_eq!(a.imports.len(), b.imports.len(), "no import added");
    for ((m1, n1, _), (m2, n2, _)) in a.imports.iter().zip(&b.imports) {
        assert_eq!((m1, n1), (m2, n2));
    }
    for (name, export) in &a.exports {
        assert_eq!(b.exports.get(name), Some(export), "export {name} unchanged");
    }
    for (name, data) in a.customs.iter().filter(|(n, _)| n != "name") {
        assert!(
            b.customs.iter().any(|(n, d)| n == name && d == data),
            "custom section {name} kept"
        );
    }
    // Original names survive, new ones are added after them.
    for (index, name) in &a.function_names {
        assert_eq!(b.function_names.get(index), Some(name));
    }
    for (index, name) in &a.global_names {
        assert_eq!(b.global_names.get(index), Some(name));
    }
    let destroy = b.exports[DESTROY_EXPORT].1;
    assert_eq!(b.function_names[&destroy], DESTROY_EXPORT);
    assert_eq!(b.function_names[&b.start.unwrap()], "__wasmgrind_start");
    assert_eq!(b.globals, a.globals + 3);
}

#[test]
fn memory_gains_the_reserved_page() {
    let output = threadify(&good()).unwrap();
    let s = summary(&output);
    let memory = s
        .imports
        .iter()
        .find_map(|(m, n, t)| match t {
            TypeRef::Memory(ty) if m == "env" && n == "memory" => Some(*ty),
            _ => None,
        })
        .expect("memory import");
    assert_eq!(memory.initial, 3);
    assert_eq!(memory.maximum, Some(16384));
    assert!(memory.shared);
    let (kind, global) = s.exports[RESERVED_PAGE_EXPORT];
    assert_eq!(kind, ExternalKind::Global);
    assert_eq!(s.global_names[&global], RESERVED_PAGE_EXPORT);
}

#[test]
fn defined_memory_becomes_an_import() {
    let input = module("(memory 2 100 shared)", "", ALL_EXPORTS);
    let output = threadify(&input).unwrap();
    validate(&output);
    let s = summary(&output);
    assert_eq!(s.memories_defined, 0);
    let memory = s
        .imports
        .iter()
        .find_map(|(m, n, t)| match t {
            TypeRef::Memory(ty) if (m.as_str(), n.as_str()) == ("env", "memory") => Some(*ty),
            _ => None,
        })
        .expect("memory import");
    assert_eq!((memory.initial, memory.maximum), (3, Some(100)));
    assert_eq!(bodies(&output)[..bodies(&input).len()], bodies(&input)[..]);
}

#[test]
fn start_routine_runs_original_start_then_allocates() {
    let input = good();
    let output = threadify(&input).unwrap();
    let a = summary(&input);
    let b = summary(&output);
    let original_start = a.start.unwrap();
    let start_ops = operators(&output, b.start.unwrap());
    let name_of = |i: u32| b.function_names[&i].as_str();
    let called: Vec<&str> = calls(&start_ops).into_iter().map(name_of).collect();
    assert_eq!(
        called,
        [
            "__wasm_init_memory",
            "__wasmgrind_lock",
            "malloc",
            "malloc",
            "__wasmgrind_unlock",
            "__wasm_init_tls"
        ]
    );
    assert_eq!(calls(&start_ops)[0], original_start);
    assert!(
        start_ops
            .iter()
            .any(|op| op.contains("I32Const { value: 1048576 }")),
        "default 1 MiB stack"
    );
    let destroy_ops = operators(&output, b.exports[DESTROY_EXPORT].1);
    let called: Vec<&str> = calls(&destroy_ops).into_iter().map(name_of).collect();
    assert_eq!(
        called,
        ["__wasmgrind_lock", "free", "free", "__wasmgrind_unlock"]
    );
}

#[test]
fn stack_size_option_is_used() {
    let options = ThreadifyOptions {
        stack_size: 64 * 1024,
    };
    let output = threadify_with(&good(), &options).unwrap();
    validate(&output);
    let s = summary(&output);
    let ops = operators(&output, s.start.unwrap());
    assert!(ops
        .iter()
        .any(|op| op.contains("I32Const { value: 65536 }")));
    assert!(matches!(
        threadify_with(&good(), &ThreadifyOptions { stack_size: 10 }),
        Err(ThreadifyError::InvalidStackSize(10))
    ));
}

#[test]
fn module_without_start_gets_one() {
    let output = threadify(&wat::parse_str(minimal_text()).unwrap()).unwrap();
    validate(&output);
    let s = summary(&output);
    let ops = operators(&output, s.start.unwrap());
    assert!(!ops.is_empty());
    assert_eq!(
        calls(&ops)[0],
        s.function_names
            .iter()
            .find(|(_, n)| *n == "__wasmgrind_lock")
            .map(|(i, _)| *i)
            .unwrap()
    );
}

#[test]
fn symbols_fall_back_to_exports_without_names() {
    let wat = r#"(module
      (import "wasm_threadlink" "thread_join" (func (param i32) (result i32)))
      (import "env" "memory" (memory 1 10 shared))
      (global (mut i32) (i32.const 1024))
      (global i32 (i32.const 4))
      (global i32 (i32.const 4))
      (func (param i32))
      (func (param i32 i32) (result i32) i32.const 0)
      (func (param i32 i32 i32))
      (func (param i32))
      (export "__tls_size" (global 1))
      (export "__tls_align" (global 2))
      (export "__wasm_init_tls" (func 1))
      (export "__wasmgrind_malloc" (func 2))
      (export "__wasmgrind_free" (func 3))
      (export "thread_start" (func 4)))"#;
    let output = threadify(&wat::parse_str(wat).unwrap()).unwrap();
    validate(&output);
    assert!(is_threadified(&output));
}

#[test]
fn error_not_wasm_and_truncated() {
    assert!(matches!(
        threadify(b"definitely not wasm"),
        Err(ThreadifyError::Parse(_))
    ));
    let input = good();
    let err = threadify(&input[..input.len() / 2]).unwrap_err();
    assert!(matches!(err, ThreadifyError::Parse(_)), "{err}");
    assert!(err.to_string().starts_with("not a valid wasm module"));
    assert!(!is_threadlink_module(b"junk"));
    assert!(!is_threadified(b"junk"));
}

#[test]
fn error_not_threadlink() {
    let wasm = wat::parse_str(r#"(module (memory 1 1 shared) (func (export "f")))"#).unwrap();
    assert!(!is_threadlink_module(&wasm));
    assert!(matches!(
        threadify(&wasm),
        Err(ThreadifyError::NotThreadlink)
    ));
}

#[test]
fn error_memory_not_shared() {
    let input = module(r#"(import "env" "memory" (memory 2 100))"#, "", ALL_EXPORTS);
    assert!(matches!(
        threadify(&input),
        Err(ThreadifyError::MemoryNotShared)
    ));
}

#[test]
fn error_missing_exports_names_which() {
    for (missing, name) in [
        ("thread_start", "thread_start"),
        ("__wasmgrind_malloc", "__wasmgrind_malloc"),
        ("__wasmgrind_free", "__wasmgrind_free"),
    ] {
        let exports: String = ALL_EXPORTS
            .lines()
            .filter(|l| !l.contains(&format!("\"{missing}\"")))
            .collect::<Vec<_>>()
            .join("\n");
        let err = threadify(&module(SHARED_IMPORT, "", &exports)).unwrap_err();
        assert!(
            matches!(err, ThreadifyError::MissingExport(n) if n == name),
            "{err}"
        );
        assert!(err.to_string().contains(name));
    }
}

#[test]
fn error_missing_linker_symbols_names_which() {
    // Renaming a symbol in the text hides it from the name section.
    let input = minimal_text().replace("$__tls_align", "$renamed_align");
    let err = threadify(&wat::parse_str(&input).unwrap()).unwrap_err();
    assert!(
        matches!(err, ThreadifyError::MissingSymbol("__tls_align")),
        "{err}"
    );
    assert!(err.to_string().contains("__tls_align"));

    let input = minimal_text().replace("$__wasm_init_tls", "$renamed_init");
    let err = threadify(&wat::parse_str(&input).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        ThreadifyError::MissingSymbol("__wasm_init_tls")
    ));

    let input = minimal_text().replace("$__stack_pointer", "$renamed_sp");
    let err = threadify(&wat::parse_str(&input).unwrap()).unwrap_err();
    assert!(matches!(
        err,
        ThreadifyError::MissingSymbol("__stack_pointer")
    ));
}

#[test]
fn error_bad_signature() {
    let input = module(
        SHARED_IMPORT,
        "(func $bad_malloc (param i32) (result i32) i32.const 0)",
        &ALL_EXPORTS.replace("(func $malloc)", "(func $bad_malloc)"),
    );
    let err = threadify(&input).unwrap_err();
    assert!(
        matches!(
            err,
            ThreadifyError::BadSignature {
                name: "__wasmgrind_malloc",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("(func (param i32) (result i32))"));
}

/// A minimal threadlink module without a start function, for variants that rename symbols.
fn minimal_text() -> String {
    r#"(module
      (import "wasm_threadlink" "thread_join" (func (param i32) (result i32)))
      (import "env" "memory" (memory 1 10 shared))
      (global $__stack_pointer (mut i32) (i32.const 1024))
      (global $__tls_size i32 (i32.const 8))
      (global $__tls_align i32 (i32.const 4))
      (func $__wasm_init_tls (param i32))
      (func $m (param i32 i32) (result i32) i32.const 0)
      (func $f (param i32 i32 i32))
      (func $t (param i32))
      (export "thread_start" (func $t))
      (export "__wasmgrind_malloc" (func $m))
      (export "__wasmgrind_free" (func $f)))"#
        .to_string()
}
