//! Symbolization of small hand-written modules: name section only, or no names at all.

use wasmgrind_report::{Frame, ReportError, Symbolizer};
use wasmparser::{Operator, Parser, Payload};

/// Module-relative offsets of every `i32.store` in the module, with the start of the
/// body containing each.
fn store_offsets(wasm: &[u8]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let start = body.range().start as u32;
            for op in body
                .get_operators_reader()
                .unwrap()
                .into_iter_with_offsets()
            {
                let (op, offset) = op.unwrap();
                if matches!(op, Operator::I32Store { .. }) {
                    out.push((offset as u32, start));
                }
            }
        }
    }
    out
}

const NAMED: &str = r#"
(module
  (import "env" "log" (func $log (param i32)))
  (memory 1)
  (func $_ZN4racy4bump17h0123456789abcdefE
    i32.const 16
    i32.const 1
    i32.store)
  (func $plain_c_name
    nop
    i32.const 32
    i32.const 2
    i32.store))
"#;

#[test]
fn names_come_from_the_name_section_demangled() {
    let wasm = wat::parse_str(NAMED).unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    assert!(!sym.has_dwarf());
    // Index 0 is the import: defined functions start at 1.
    assert_eq!(sym.function_name(0), Some("log"));
    assert_eq!(sym.function_name(1), Some("racy::bump"));
    assert_eq!(sym.function_name(2), Some("plain_c_name"));
    assert_eq!(sym.function_name(3), None);

    let stores = store_offsets(&wasm);
    let (offset, start) = stores[0];
    assert_eq!(sym.function_of(offset), Some(1));
    assert_eq!(
        sym.frames(offset),
        vec![Frame {
            func_index: Some(1),
            function: Some("racy::bump".into()),
            code_offset: Some(offset),
            function_offset: Some(offset - start),
            ..Frame::default()
        }]
    );
    let (offset, start) = stores[1];
    assert_eq!(sym.function_of(offset), Some(2));
    assert_eq!(
        sym.frames(offset)[0].to_string(),
        format!("plain_c_name+0x{:x}", offset - start)
    );
    assert_eq!(
        sym.stack(&[stores[1].0, stores[0].0])
            .iter()
            .map(|f| f.function.clone().unwrap())
            .collect::<Vec<_>>(),
        ["plain_c_name", "racy::bump"]
    );
}

#[test]
fn without_names_frames_print_function_index_and_offset() {
    let wasm = wat::parse_str(
        r#"(module (memory 1) (func i32.const 0 i32.const 0 i32.store) (func nop))"#,
    )
    .unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    let (offset, start) = store_offsets(&wasm)[0];
    let frames = sym.frames(offset);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].function, None);
    assert_eq!(
        frames[0].to_string(),
        format!("wasm-function[0]+0x{:x}", offset - start)
    );
    assert_eq!(sym.describe_address(16), None);
}

#[test]
fn offsets_outside_functions_keep_the_raw_offset() {
    let wasm = wat::parse_str(NAMED).unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    assert_eq!(sym.function_of(3), None);
    let frames = sym.frames(3);
    assert_eq!(frames, vec![Frame::from_offset(3)]);
    assert_eq!(frames[0].to_string(), "0x00000003");
    assert_eq!(sym.function_of(u32::MAX), None);
}

#[test]
fn malformed_modules_are_errors_not_panics() {
    assert!(matches!(
        Symbolizer::new(b"\0asm\x01\0\0\0\x01\xff"),
        Err(ReportError::Wasm(_))
    ));
    assert!(Symbolizer::new(b"not wasm").is_err());
}

/// A C-style layout: data at 1024, the stack after it, then the heap; the stack
/// pointer is not the first mutable global, so it must be found by its name.
const LAYOUT: &str = r#"
(module
  (memory 2)
  (global $counter (mut i32) (i32.const 0))
  (global $__stack_pointer (mut i32) (i32.const 0x8800))
  (global $data_end i32 (i32.const 0x0800))
  (global $heap_base i32 (i32.const 0x8800))
  (export "__data_end" (global $data_end))
  (export "__heap_base" (global $heap_base))
  (data (i32.const 1024) "racy data"))
"#;

#[test]
fn addresses_are_classified_by_linker_globals() {
    use wasmgrind_report::{AddressDescription, DataLayout};
    let wasm = wat::parse_str(LAYOUT).unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    assert_eq!(
        sym.data_layout(),
        &DataLayout {
            stack_pointer_init: Some(0x8800),
            main_stack: Some(0x0800..0x8800),
            data: Some(0x0400..0x0800),
            heap_base: Some(0x8800),
        }
    );
    assert_eq!(
        sym.describe(0x8000),
        AddressDescription::Stack { thread: 0 }
    );
    assert_eq!(
        sym.describe(0x0800),
        AddressDescription::Stack { thread: 0 }
    );
    assert_eq!(sym.describe(0x8800), AddressDescription::Heap);
    assert_eq!(sym.describe(u32::MAX), AddressDescription::Heap);
    // Static data without DWARF is not a known global.
    assert_eq!(sym.describe(0x0400), AddressDescription::Unknown);
    assert_eq!(sym.describe(0x10), AddressDescription::Unknown);
    // Threads' stacks, known to the caller, lie in the heap and win over it.
    let stacks = [(1, 0x1_0000..0x1_1000), (2, 0x1_1000..0x1_2000)];
    assert_eq!(
        sym.describe_with(0x1_1000, &stacks),
        AddressDescription::Stack { thread: 2 }
    );
    assert_eq!(
        sym.describe_with(0x1_2000, &stacks),
        AddressDescription::Heap
    );
}

#[test]
fn stack_first_layout_without_names_uses_the_first_mutable_global() {
    use wasmgrind_report::AddressDescription;
    // Rust's layout: stack in [0, 1 MiB), data above; no names, no exports.
    let wasm = wat::parse_str(
        r#"(module (memory 17)
             (global i32 (i32.const 5))
             (global (mut i32) (i32.const 0x100000))
             (data (i32.const 0x100000) "abcd")
             (data (i32.const 0x100010) "efgh"))"#,
    )
    .unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    let layout = sym.data_layout();
    assert_eq!(layout.stack_pointer_init, Some(0x10_0000));
    assert_eq!(layout.main_stack, Some(0..0x10_0000));
    assert_eq!(layout.data, Some(0x10_0000..0x10_0014));
    assert_eq!(layout.heap_base, Some(0x10_0014));
    assert_eq!(
        sym.describe(0xf_fffc),
        AddressDescription::Stack { thread: 0 }
    );
    assert_eq!(sym.describe(0x10_0000), AddressDescription::Unknown);
    assert_eq!(sym.describe(0x20_0000), AddressDescription::Heap);
}

#[test]
fn modules_without_layout_information_describe_nothing() {
    use wasmgrind_report::{AddressDescription, DataLayout};
    let wasm = wat::parse_str(NAMED).unwrap();
    let sym = Symbolizer::new(&wasm).unwrap();
    assert_eq!(sym.data_layout(), &DataLayout::default());
    assert_eq!(sym.describe(16), AddressDescription::Unknown);
}
