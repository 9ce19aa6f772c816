//! Symbolization of a real Rust program built for `wasm32-wasip1-threads` with DWARF
//! (the fixture crate under `tests/fixture/`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use wasmgrind_report::{display_path, GlobalSymbol, Symbolizer};
use wasmparser::{KnownCustom, Name, Operator, Parser, Payload};

/// This package's directory, read when the test runs (cargo sets it), so a test binary
/// that cargo reuses from another checkout sharing the target directory still finds this
/// checkout's files; the compile-time value when run outside cargo.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The fixture crate's directory.
fn fixture_dir() -> PathBuf {
    manifest_dir().join("tests/fixture")
}

/// Builds the fixture with full debug info once per test binary and returns its
/// bytes.
fn fixture_wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| build_fixture("2", "report-fixture"))
}

/// The fixture built with `debug = "line-tables-only"`: DWARF without namespaces
/// or linkage names, as wasm guests are often built.
fn fixture_wasm_line_tables() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| build_fixture("line-tables-only", "report-fixture-lines"))
}

fn build_fixture(debug: &str, target_subdir: &str) -> Vec<u8> {
    {
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir).join(target_subdir),
            None => manifest_dir().join("../../target").join(target_subdir),
        };
        let output = Command::new("cargo")
            .args([
                "+stable",
                "build",
                "--release",
                "--target",
                "wasm32-wasip1-threads",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(fixture_dir())
            .env("CARGO_PROFILE_RELEASE_DEBUG", debug)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTUP_TOOLCHAIN")
            .output()
            .expect("running cargo to build the wasm fixture");
        assert!(
            output.status.success(),
            "building the fixture failed (is `rustup target add wasm32-wasip1-threads` done?):\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let path = target_dir.join("wasm32-wasip1-threads/release/racy.wasm");
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }
}

/// The 1-based line of the fixture source containing `marker`.
fn marker_line(marker: &str) -> u32 {
    let src = std::fs::read_to_string(fixture_dir().join("src/main.rs")).unwrap();
    let index = src
        .lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("marker {marker} not in fixture"));
    u32::try_from(index + 1).unwrap()
}

/// What the tests need to know about `racy::bump`, found independently of the
/// symbolizer by parsing the module with wasmparser.
struct Bump {
    func_index: u32,
    body_start: u32,
    load_offset: u32,
    store_offset: u32,
    /// `i32.const` address plus memarg offset of the volatile load.
    counter_addr: u32,
}

fn find_bump(wasm: &[u8]) -> Bump {
    let mut bump_index = None;
    let mut imported = 0u32;
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    if matches!(import.unwrap().ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(body),
            Payload::CustomSection(c) => {
                if let KnownCustom::Name(names) = c.as_known() {
                    for sub in names {
                        if let Name::Function(map) = sub.unwrap() {
                            for n in map {
                                let n = n.unwrap();
                                if rustc_demangle::demangle(n.name)
                                    .to_string()
                                    .starts_with("racy::bump::")
                                {
                                    bump_index = Some(n.index);
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let func_index = bump_index.expect("racy::bump in the name section");
    let body = &bodies[(func_index - imported) as usize];
    let mut last_const = None;
    let (mut load, mut store, mut counter_addr) = (Vec::new(), Vec::new(), None);
    for op in body
        .get_operators_reader()
        .unwrap()
        .into_iter_with_offsets()
    {
        let (op, offset) = op.unwrap();
        let offset = u32::try_from(offset).unwrap();
        match op {
            Operator::I32Const { value } => last_const = Some(value as u32),
            Operator::I32Load { memarg } => {
                load.push(offset);
                counter_addr = last_const.map(|c| c + memarg.offset as u32);
            }
            Operator::I32Store { .. } => store.push(offset),
            _ => {}
        }
    }
    assert_eq!(
        (load.len(), store.len()),
        (1, 1),
        "one load and one store in bump"
    );
    Bump {
        func_index,
        body_start: u32::try_from(body.range().start).unwrap(),
        load_offset: load[0],
        store_offset: store[0],
        counter_addr: counter_addr.expect("COUNTER address is a constant"),
    }
}

#[test]
fn store_in_bump_maps_to_its_source_line() {
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    assert!(sym.has_dwarf());
    let frames = sym.frames(bump.store_offset);
    eprintln!("{frames:#?}");
    let outer = frames.last().unwrap();
    assert_eq!(outer.function.as_deref(), Some("racy::bump"));
    assert_eq!(outer.func_index, Some(bump.func_index));
    assert_eq!(outer.code_offset, Some(bump.store_offset));
    assert_eq!(
        outer.function_offset,
        Some(bump.store_offset - bump.body_start)
    );
    let file = outer.file.as_deref().unwrap();
    assert!(file.ends_with("tests/fixture/src/main.rs"), "{file}");
    assert_eq!(display_path(file), "src/main.rs");
    assert_eq!(outer.line, Some(marker_line("MARK: store")));
    // `write_volatile` is inlined into bump at the store: its frame comes first,
    // with a recognisable std path.
    assert!(frames.len() >= 2, "expected an inlined frame: {frames:#?}");
    for inner in &frames[..frames.len() - 1] {
        assert!(
            inner.function.as_deref().unwrap().starts_with("core::"),
            "{inner:?}"
        );
        assert!(display_path(inner.file.as_deref().unwrap()).starts_with("library/core/src/"));
    }
    assert_eq!(
        frames.last().unwrap().to_string(),
        format!(
            "racy::bump at src/main.rs:{}:{}",
            marker_line("MARK: store"),
            outer.column.unwrap()
        )
    );
}

#[test]
fn load_in_bump_maps_to_its_source_line() {
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    let frames = sym.frames(bump.load_offset);
    let outer = frames.last().unwrap();
    assert_eq!(outer.function.as_deref(), Some("racy::bump"));
    assert_eq!(outer.line, Some(marker_line("MARK: load")));
    // Cached lookups return the same frames.
    assert_eq!(sym.frames(bump.load_offset), frames);
    assert_eq!(sym.function_of(bump.load_offset), Some(bump.func_index));
    assert_eq!(sym.function_name(bump.func_index), Some("racy::bump"));
}

#[test]
fn counter_static_resolves_to_its_global() {
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    let counter = GlobalSymbol {
        name: "racy::COUNTER".into(),
        addr: bump.counter_addr,
        size: 4,
    };
    assert_eq!(
        sym.describe_address(bump.counter_addr),
        Some(counter.clone())
    );
    assert_eq!(
        sym.describe_address(bump.counter_addr + 3),
        Some(counter.clone())
    );
    assert_ne!(sym.describe_address(bump.counter_addr + 4), Some(counter));
}

/// Re-emits `wasm` without the custom sections `drop` selects.
fn without_custom_sections(wasm: &[u8], drop: impl Fn(&str) -> bool) -> Vec<u8> {
    let mut out = wasm[..8].to_vec();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.unwrap();
        if let Payload::CustomSection(c) = &payload {
            if drop(c.name()) {
                continue;
            }
        }
        if let Some((id, range)) = payload.as_section() {
            out.push(id);
            let mut len = u32::try_from(range.len()).unwrap();
            loop {
                let byte = (len & 0x7f) as u8;
                len >>= 7;
                if len == 0 {
                    out.push(byte);
                    break;
                }
                out.push(byte | 0x80);
            }
            out.extend_from_slice(&wasm[range]);
        }
    }
    out
}

#[test]
fn without_dwarf_names_come_from_the_name_section() {
    let wasm = fixture_wasm();
    let stripped = without_custom_sections(wasm, |name| name.starts_with(".debug_"));
    // Dropping only custom sections leaves code offsets before them unchanged.
    let bump = find_bump(&stripped);
    assert_eq!(bump.store_offset, find_bump(wasm).store_offset);
    let sym = Symbolizer::new(&stripped).unwrap();
    assert!(!sym.has_dwarf());
    let frames = sym.frames(bump.store_offset);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].function.as_deref(), Some("racy::bump"));
    assert_eq!(frames[0].file, None);
    assert_eq!(
        frames[0].to_string(),
        format!("racy::bump+0x{:x}", bump.store_offset - bump.body_start)
    );
    assert_eq!(sym.describe_address(bump.counter_addr), None);
}

#[test]
fn without_any_names_frames_are_wasm_function_offsets() {
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let stripped =
        without_custom_sections(wasm, |name| name.starts_with(".debug_") || name == "name");
    let sym = Symbolizer::new(&stripped).unwrap();
    let frames = sym.frames(bump.store_offset);
    assert_eq!(
        frames[0].to_string(),
        format!(
            "wasm-function[{}]+0x{:x}",
            bump.func_index,
            bump.store_offset - bump.body_start
        )
    );
}

#[test]
fn end_to_end_report_from_the_fixture() {
    use wasmgrind_report::{Access, AccessKind, AddressDescription, Finding, Race, TextRenderer};
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    let finding = Finding::DataRace(Race {
        current: Access {
            kind: AccessKind::Write,
            size: 4,
            addr: bump.counter_addr,
            thread: 2,
            stack: sym.stack(&[bump.store_offset]),
        },
        previous: Access {
            kind: AccessKind::Read,
            size: 4,
            addr: bump.counter_addr,
            thread: 1,
            stack: sym.stack(&[bump.load_offset]),
        },
        location: sym
            .describe_address(bump.counter_addr)
            .map(AddressDescription::Global),
    });
    let text = TextRenderer::new(7).render(&finding);
    let store_col = sym
        .frames(bump.store_offset)
        .last()
        .unwrap()
        .column
        .unwrap();
    let store_line = marker_line("MARK: store");
    assert!(
        text.contains(&format!(
            "\n    #1 racy::bump at src/main.rs:{store_line}:{store_col}\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\n  Location is global 'racy::COUNTER' of size 4 at 0x{:08x}\n",
            bump.counter_addr
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "\nSUMMARY: wasmgrind: data race src/main.rs:{store_line}:{store_col} in racy::bump\n"
        )),
        "{text}"
    );
    eprintln!("{text}");
}

/// Offsets of every `call` to function `callee`.
fn calls_to(wasm: &[u8], callee: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            for op in body
                .get_operators_reader()
                .unwrap()
                .into_iter_with_offsets()
            {
                let (op, offset) = op.unwrap();
                if matches!(op, Operator::Call { function_index } if function_index == callee) {
                    out.push(u32::try_from(offset).unwrap());
                }
            }
        }
    }
    out
}

/// The frames at the call of `bump` inside the closure given to `thread::spawn`.
fn closure_frames(wasm: &[u8]) -> Vec<wasmgrind_report::Frame> {
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    let line = marker_line("MARK: spawn");
    let calls = calls_to(wasm, bump.func_index);
    calls
        .iter()
        .map(|&offset| sym.frames(offset))
        .find(|frames| {
            frames.iter().any(|f| {
                f.line == Some(line)
                    && f.file
                        .as_deref()
                        .is_some_and(|p| p.ends_with("src/main.rs"))
            })
        })
        .unwrap_or_else(|| panic!("no call of bump at the spawn line among {calls:x?}"))
}

#[test]
fn inlined_closure_is_fully_qualified() {
    let frames = closure_frames(fixture_wasm());
    eprintln!("{frames:#?}");
    let closure = frames
        .iter()
        .find(|f| f.line == Some(marker_line("MARK: spawn")))
        .unwrap();
    assert_eq!(closure.function.as_deref(), Some("racy::main::{{closure}}"));
    // Every Rust frame carries a path, none a bare DWARF short name.
    for f in &frames {
        let name = f.function.as_deref().unwrap();
        assert!(name.contains("::"), "{f:?}");
    }
}

#[test]
fn line_tables_only_names_are_qualified_where_the_module_tells() {
    let wasm = fixture_wasm_line_tables();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    assert!(sym.has_dwarf());
    // The physical function gets its full name from the name section; the inlined
    // `write_volatile` has only its short name, printed without generic arguments.
    let frames = sym.frames(bump.store_offset);
    eprintln!("{frames:#?}");
    let outer = frames.last().unwrap();
    assert_eq!(outer.function.as_deref(), Some("racy::bump"));
    assert_eq!(outer.line, Some(marker_line("MARK: store")));
    assert!(frames.len() >= 2, "expected an inlined frame: {frames:#?}");
    assert_eq!(frames[0].function.as_deref(), Some("write_volatile"));
    assert!(frames[0].is_standard_library(), "{:?}", frames[0]);
    // The closure's DWARF name is `{closure#0}`; its path comes from the closure
    // type `racy::main::{closure_env#0}` named in std's generic functions.
    let frames = closure_frames(wasm);
    eprintln!("{frames:#?}");
    let closure = frames
        .iter()
        .find(|f| f.line == Some(marker_line("MARK: spawn")))
        .unwrap();
    assert_eq!(closure.function.as_deref(), Some("racy::main::{{closure}}"));
    // The physical function is named by the name section, so it is qualified.
    assert!(frames
        .last()
        .unwrap()
        .function
        .as_deref()
        .unwrap()
        .contains("::"));
}

#[test]
fn addresses_are_classified_by_the_linker_layout() {
    use wasmgrind_report::AddressDescription;
    let wasm = fixture_wasm();
    let bump = find_bump(wasm);
    let sym = Symbolizer::new(wasm).unwrap();
    let layout = sym.data_layout().clone();
    eprintln!("{layout:x?}");
    // Rust puts a 1 MiB stack first, then the data (initialized by
    // `__wasm_init_memory` in a shared memory), then the heap.
    let sp = layout.stack_pointer_init.unwrap();
    assert_eq!(layout.main_stack, Some(0..sp));
    let data = layout.data.clone().unwrap();
    assert!(
        data.start >= sp && data.contains(&bump.counter_addr),
        "{layout:x?}"
    );
    assert_eq!(layout.heap_base, Some(data.end));
    assert!(
        matches!(sym.describe(bump.counter_addr), AddressDescription::Global(g) if g.name == "racy::COUNTER")
    );
    assert_eq!(
        sym.describe(sp - 4),
        AddressDescription::Stack { thread: 0 }
    );
    assert_eq!(sym.describe(data.end + 0x1000), AddressDescription::Heap);
    assert_eq!(
        sym.describe_with(data.end + 0x1000, &[(3, data.end..data.end + 0x2000)]),
        AddressDescription::Stack { thread: 3 }
    );
}
