//! Loading the DWARF sections that wasm modules carry as `.debug_*` custom sections.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use gimli::Reader as _;

/// The gimli reader used for wasm DWARF: wasm is little-endian, and the module bytes
/// are shared (not copied) by every section through one `Arc`.
pub(crate) type DwarfReader = gimli::EndianArcSlice<gimli::LittleEndian>;

/// Builds a `gimli::Dwarf` over the module's `.debug_*` sections, or `None` when the
/// module has no `.debug_info`.
pub(crate) fn load_dwarf(
    wasm: &Arc<[u8]>,
    sections: &HashMap<String, Range<usize>>,
) -> Result<Option<gimli::Dwarf<DwarfReader>>, gimli::Error> {
    if !sections.contains_key(".debug_info") {
        return Ok(None);
    }
    let whole = DwarfReader::new(Arc::clone(wasm), gimli::LittleEndian);
    let dwarf = gimli::Dwarf::load(|id: gimli::SectionId| {
        Ok::<_, gimli::Error>(match sections.get(id.name()) {
            Some(range) => whole.range(range.clone()),
            None => whole.range(0..0),
        })
    })?;
    Ok(Some(dwarf))
}

/// Calls `unit_names` with each unit's `DW_AT_comp_dir` and `DW_AT_name`, and
/// `f` with the `DW_AT_name` of every debugging information entry that has one
/// (type and function names spell out full paths in their generic arguments).
/// Stops quietly at the first unit that does not parse: names are a nicety.
pub(crate) fn for_each_name(
    dwarf: &gimli::Dwarf<DwarfReader>,
    mut unit_names: impl FnMut(Option<&str>, &str),
    mut f: impl FnMut(&str),
) {
    let mut headers = dwarf.units();
    while let Ok(Some(header)) = headers.next() {
        let Ok(unit) = dwarf.unit(header) else {
            return;
        };
        if let Some(Ok(name)) = unit.name.as_ref().map(|n| n.to_string_lossy()) {
            let comp_dir = unit
                .comp_dir
                .as_ref()
                .and_then(|d| d.to_string_lossy().ok());
            unit_names(comp_dir.as_deref(), &name);
        }
        let mut cursor = unit.entries();
        while let Ok(Some(entry)) = cursor.next_dfs() {
            let Some(value) = entry.attr_value(gimli::DW_AT_name) else {
                continue;
            };
            if let Ok(name) = dwarf.attr_string(&unit, value) {
                if let Ok(name) = name.to_string_lossy() {
                    f(&name);
                }
            }
        }
    }
}
