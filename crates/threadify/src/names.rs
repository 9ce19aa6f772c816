//! Updating the `name` custom section with the functions and globals threadify adds.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{NameMap, NameSection};
use wasmparser::{Name, NameSectionReader};

use crate::error::ThreadifyError;

/// Subsection ids of the extended name section (function = 1, global = 7).
const FUNCTION_SUBSECTION: u8 = 1;
const GLOBAL_SUBSECTION: u8 = 7;

/// Names to append: `(index, name)`, indices above every existing one.
#[derive(Debug, Default)]
pub struct AddedNames {
    /// New function names.
    pub functions: Vec<(u32, &'static str)>,
    /// New global names.
    pub globals: Vec<(u32, &'static str)>,
}

fn subsection_id(name: &Name<'_>) -> u8 {
    match name {
        Name::Module { .. } => 0,
        Name::Function(_) => 1,
        Name::Local(_) => 2,
        Name::Label(_) => 3,
        Name::Type(_) => 4,
        Name::Table(_) => 5,
        Name::Memory(_) => 6,
        Name::Global(_) => 7,
        Name::Element(_) => 8,
        Name::Data(_) => 9,
        Name::Field(_) => 10,
        Name::Tag(_) => 11,
        Name::Unknown { ty, .. } => *ty,
    }
}

/// Rebuilds a name section with `added` merged in, keeping every other subsection and the
/// subsection order. Existing names keep their indices (threadify renumbers nothing).
pub fn extend_name_section(
    reader: NameSectionReader<'_>,
    added: &AddedNames,
) -> Result<NameSection, ThreadifyError> {
    let mut out = NameSection::new();
    let mut functions_done = added.functions.is_empty();
    let mut globals_done = added.globals.is_empty();
    let mut reencoder = RoundtripReencoder;
    for sub in reader {
        let sub = sub?;
        let id = subsection_id(&sub);
        if !functions_done && id > FUNCTION_SUBSECTION {
            out.functions(&map_of(None, &added.functions)?);
            functions_done = true;
        }
        if !globals_done && id > GLOBAL_SUBSECTION {
            out.globals(&map_of(None, &added.globals)?);
            globals_done = true;
        }
        match sub {
            Name::Function(map) if !functions_done => {
                out.functions(&map_of(Some(map), &added.functions)?);
                functions_done = true;
            }
            Name::Global(map) if !globals_done => {
                out.globals(&map_of(Some(map), &added.globals)?);
                globals_done = true;
            }
            other => reencoder.parse_custom_name_subsection(&mut out, other)?,
        }
    }
    if !functions_done {
        out.functions(&map_of(None, &added.functions)?);
    }
    if !globals_done {
        out.globals(&map_of(None, &added.globals)?);
    }
    Ok(out)
}

fn map_of(
    existing: Option<wasmparser::NameMap<'_>>,
    added: &[(u32, &'static str)],
) -> Result<NameMap, ThreadifyError> {
    let mut map = NameMap::new();
    if let Some(existing) = existing {
        for naming in existing {
            let naming = naming?;
            map.append(naming.index, naming.name);
        }
    }
    for (index, name) in added {
        map.append(*index, name);
    }
    Ok(map)
}
