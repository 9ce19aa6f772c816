//! Loading the DWARF sections that wasm modules carry as `.debug_*` custom sections.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

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
