//! The facts about a wasm module that symbolization needs, gathered in one pass.

use std::collections::HashMap;
use std::ops::Range;

use wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};

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
}

impl ModuleInfo {
    /// Parses `wasm`; a malformed `name` section is ignored (names are a nicety),
    /// a malformed module is an error.
    pub fn parse(wasm: &[u8]) -> Result<ModuleInfo, ReportError> {
        let mut info = ModuleInfo::default();
        let mut imported_functions = 0u32;
        let mut next_body = 0u32;
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                            imported_functions += 1;
                        }
                    }
                }
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
                        let _ = read_function_names(names, &mut info.names);
                    }
                }
                _ => {}
            }
        }
        info.bodies.sort_by_key(|b| b.start);
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

fn read_function_names(
    names: wasmparser::NameSectionReader<'_>,
    out: &mut HashMap<u32, String>,
) -> Result<(), wasmparser::BinaryReaderError> {
    for subsection in names {
        if let Name::Function(map) = subsection? {
            for naming in map {
                let naming = naming?;
                out.insert(naming.index, demangle(naming.name));
            }
        }
    }
    Ok(())
}
