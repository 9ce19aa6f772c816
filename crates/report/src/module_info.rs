//! The facts about a wasm module that symbolization needs, gathered in one pass.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{
    ConstExpr, DataKind, ExternalKind, KnownCustom, Name, Operator, Parser, Payload, TypeRef,
    ValType,
};

use crate::data_layout::{DefinedGlobal, LayoutFacts};
use crate::demangle::demangle;
use crate::error::ReportError;

/// The byte range of one defined function's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyRange {
    /// Function index (imports first).
    pub index: u32,
    /// Module-relative offset of the body's first byte (its locals declaration).
    pub start: u32,
    /// Module-relative offset one past the body's last byte.
    pub end: u32,
}

/// Function bodies, names and debug sections of a module.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// Module-relative offset of the Code section's payload (right after the
    /// section size), which DWARF code addresses are relative to.
    pub code_payload_start: Option<u32>,
    /// Bodies sorted by `start`; they never overlap.
    pub bodies: Vec<BodyRange>,
    /// Demangled function names from the `name` section.
    pub names: HashMap<u32, String>,
    /// Byte ranges of the `.debug_*` custom sections' data, by section name.
    pub debug_sections: HashMap<String, Range<usize>>,
    /// Globals, their names and exports, and data segments, for the memory layout.
    pub layout: LayoutFacts,
}

impl ModuleInfo {
    /// Parses `wasm`; a malformed `name` section is ignored (names are a nicety),
    /// a malformed module is an error.
    pub fn parse(wasm: &[u8]) -> Result<ModuleInfo, ReportError> {
        let mut info = ModuleInfo::default();
        let mut imported_functions = 0u32;
        let mut imported_globals = 0u32;
        let mut next_body = 0u32;
        let mut start_function = None;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        match import?.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => imported_functions += 1,
                            TypeRef::Global(_) => imported_globals += 1,
                            _ => {}
                        }
                    }
                }
                Payload::GlobalSection(reader) => {
                    for (i, global) in reader.into_iter().enumerate() {
                        let global = global?;
                        let i32_init = (global.ty.content_type == ValType::I32)
                            .then(|| const_i32(&global.init_expr))
                            .flatten();
                        info.layout.globals.push(DefinedGlobal {
                            index: imported_globals.saturating_add(offset32(i)),
                            mutable: global.ty.mutable,
                            i32_init,
                        });
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        if export.kind == ExternalKind::Global {
                            info.layout
                                .global_exports
                                .insert(export.name.to_string(), export.index);
                        }
                    }
                }
                Payload::DataSection(reader) => {
                    for data in reader {
                        let data = data?;
                        if let DataKind::Active { offset_expr, .. } = data.kind {
                            if let Some(start) = const_i32(&offset_expr) {
                                let len = offset32(data.data.len());
                                info.layout
                                    .data_segments
                                    .push(start..start.saturating_add(len));
                            }
                        }
                    }
                }
                Payload::StartSection { func, .. } => start_function = Some(func),
                Payload::CodeSectionStart { range, .. } => {
                    info.code_payload_start = Some(offset32(range.start));
                }
                Payload::CodeSectionEntry(body) => {
                    let range = body.range();
                    info.bodies.push(BodyRange {
                        index: imported_functions + next_body,
                        start: offset32(range.start),
                        end: offset32(range.end),
                    });
                    next_body += 1;
                }
                Payload::CustomSection(reader) => {
                    if reader.name().starts_with(".debug_") {
                        let start = reader.data_offset();
                        info.debug_sections.insert(
                            reader.name().to_string(),
                            start..start + reader.data().len(),
                        );
                    } else if let KnownCustom::Name(names) = reader.as_known() {
                        // Best effort: keep whatever names parsed before an error.
                        let _ = read_names(names, &mut info.names, &mut info.layout.global_names);
                    }
                }
                _ => {}
            }
        }
        info.bodies.sort_by_key(|b| b.start);
        // Shared memories are initialized by code, not by active segments.
        let init_memory = info
            .names
            .iter()
            .find(|(_, name)| name.as_str() == "__wasm_init_memory")
            .map(|(&index, _)| index)
            .or(start_function);
        if let Some(body) = init_memory.and_then(|i| info.bodies.iter().find(|b| b.index == i)) {
            let code = wasm
                .get(body.start as usize..body.end as usize)
                .unwrap_or_default();
            // Best effort, like names: a body that does not parse adds nothing.
            let _ = scan_memory_init(code, body.start as usize, &mut info.layout.data_segments);
        }
        Ok(info)
    }

    /// The body containing `code_offset`, by binary search.
    pub fn body_of(&self, code_offset: u32) -> Option<BodyRange> {
        // Invariant: `bodies` is sorted by `start` and non-overlapping.
        let i = self.bodies.partition_point(|b| b.start <= code_offset);
        let body = *self.bodies.get(i.checked_sub(1)?)?;
        (code_offset < body.end).then_some(body)
    }
}

/// Wasm modules are smaller than 4 GiB, so offsets fit in `u32`.
fn offset32(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// The value of a constant expression that is exactly one `i32.const`, as an
/// unsigned address.
fn const_i32(expr: &ConstExpr<'_>) -> Option<u32> {
    let mut ops = expr.get_operators_reader();
    let Ok(Operator::I32Const { value }) = ops.read() else {
        return None;
    };
    // Reinterpreting the two's-complement bits is what the wasm address space does.
    let value = value as u32;
    matches!(ops.read(), Ok(Operator::End)).then_some(value)
}

/// Collects the destination ranges of `memory.init` (data) and `memory.fill` (bss)
/// instructions whose three operands are constants, as wasm-ld's
/// `__wasm_init_memory` initializes a shared memory's static data.
fn scan_memory_init(
    code: &[u8],
    offset: usize,
    out: &mut Vec<Range<u32>>,
) -> Result<(), wasmparser::BinaryReaderError> {
    let body = wasmparser::FunctionBody::new(wasmparser::BinaryReader::new(code, offset));
    // The constant pushed by each of the last three operators, oldest first.
    let mut last: [Option<u32>; 3] = [None; 3];
    for op in body.get_operators_reader()? {
        let op = op?;
        if let (
            Operator::MemoryInit { .. } | Operator::MemoryFill { .. },
            [Some(dest), _, Some(len)],
        ) = (&op, last)
        {
            if len > 0 {
                out.push(dest..dest.saturating_add(len));
            }
        }
        let pushed = match op {
            Operator::I32Const { value } => Some(value as u32),
            _ => None,
        };
        last = [last[1], last[2], pushed];
    }
    Ok(())
}

/// Reads the function names (demangled) and global names of a `name` section.
fn read_names(
    names: wasmparser::NameSectionReader<'_>,
    functions: &mut HashMap<u32, String>,
    globals: &mut HashMap<u32, String>,
) -> Result<(), wasmparser::BinaryReaderError> {
    for subsection in names {
        match subsection? {
            Name::Function(map) => {
                for naming in map {
                    let naming = naming?;
                    functions.insert(naming.index, demangle(naming.name));
                }
            }
            Name::Global(map) => {
                for naming in map {
                    let naming = naming?;
                    globals.insert(naming.index, naming.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(())
}
