//! Global variables from DWARF, for describing the address of a racy access.

use gimli::{AttributeValue, Operation, Reader, Unit, UnitOffset};
use serde::{Deserialize, Serialize};

use crate::demangle::demangle;
use crate::dwarf::DwarfReader;

/// A global variable of the program, as `Location is global 'racy::COUNTER' of size 4
/// at 0x00110a40` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalSymbol {
    /// Demangled, fully qualified name (`racy::COUNTER`).
    pub name: String,
    /// Address of the variable's first byte in linear memory.
    pub addr: u32,
    /// Size in bytes.
    pub size: u32,
}

impl GlobalSymbol {
    /// Whether `addr` lies inside the variable.
    pub fn contains(&self, addr: u32) -> bool {
        addr >= self.addr && addr - self.addr < self.size
    }
}

/// Sorted interval table of global variables, built once per module.
#[derive(Debug, Default)]
pub(crate) struct GlobalTable {
    /// Invariant: sorted by `addr`, non-empty sizes, pairwise non-overlapping, so
    /// the only candidate for an address is the last symbol starting at or below it.
    symbols: Vec<GlobalSymbol>,
}

/// How deep `type_size` follows `DW_AT_type` chains before giving up (guards against
/// cyclic or absurd DWARF).
const MAX_TYPE_DEPTH: usize = 16;

impl GlobalTable {
    /// Collects every `DW_TAG_variable` whose location is a plain `DW_OP_addr` (or
    /// `DW_OP_addrx`) and whose type has a known size.
    pub fn from_dwarf(dwarf: &gimli::Dwarf<DwarfReader>) -> Result<GlobalTable, gimli::Error> {
        let mut symbols = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next()? {
            let unit = dwarf.unit(header)?;
            collect_unit(dwarf, &unit, &mut symbols)?;
        }
        Ok(GlobalTable::from_symbols(symbols))
    }

    /// Builds the table, dropping empty symbols and any symbol overlapping one
    /// before it (the same static can be described by several compilation units).
    pub fn from_symbols(mut symbols: Vec<GlobalSymbol>) -> GlobalTable {
        symbols.retain(|s| s.size > 0);
        // Larger first among equal addresses, so the kept one covers the others.
        symbols.sort_by(|a, b| a.addr.cmp(&b.addr).then(b.size.cmp(&a.size)));
        let mut kept: Vec<GlobalSymbol> = Vec::with_capacity(symbols.len());
        for s in symbols {
            let overlaps = kept.last().is_some_and(|prev| {
                u64::from(prev.addr) + u64::from(prev.size) > u64::from(s.addr)
            });
            if !overlaps {
                kept.push(s);
            }
        }
        GlobalTable { symbols: kept }
    }

    /// The global containing `addr`, by binary search.
    pub fn lookup(&self, addr: u32) -> Option<&GlobalSymbol> {
        let i = self.symbols.partition_point(|s| s.addr <= addr);
        let candidate = self.symbols.get(i.checked_sub(1)?)?;
        candidate.contains(addr).then_some(candidate)
    }

    /// Number of globals in the table.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }
}

fn collect_unit(
    dwarf: &gimli::Dwarf<DwarfReader>,
    unit: &Unit<DwarfReader>,
    out: &mut Vec<GlobalSymbol>,
) -> Result<(), gimli::Error> {
    // Enclosing namespaces as (depth, name), to qualify names without linkage names.
    let mut scopes: Vec<(isize, String)> = Vec::new();
    let mut cursor = unit.entries();
    while let Some(entry) = cursor.next_dfs()? {
        let depth = entry.depth();
        while scopes.last().is_some_and(|(d, _)| *d >= depth) {
            scopes.pop();
        }
        match entry.tag() {
            gimli::DW_TAG_namespace
            | gimli::DW_TAG_structure_type
            | gimli::DW_TAG_class_type
            | gimli::DW_TAG_subprogram => {
                if let Some(name) = attr_string(dwarf, unit, entry.attr_value(gimli::DW_AT_name)) {
                    scopes.push((depth, name));
                }
            }
            gimli::DW_TAG_variable => {
                let Some(addr) = static_address(dwarf, unit, entry)? else {
                    continue;
                };
                let Some(AttributeValue::UnitRef(ty)) = entry.attr_value(gimli::DW_AT_type) else {
                    continue;
                };
                let Some(size) = type_size(unit, ty, 0)? else {
                    continue;
                };
                let linkage = entry
                    .attr_value(gimli::DW_AT_linkage_name)
                    .or_else(|| entry.attr_value(gimli::DW_AT_MIPS_linkage_name));
                let name = match attr_string(dwarf, unit, linkage) {
                    Some(mangled) => demangle(&mangled),
                    None => {
                        let Some(plain) =
                            attr_string(dwarf, unit, entry.attr_value(gimli::DW_AT_name))
                        else {
                            continue;
                        };
                        let mut path: Vec<&str> = scopes.iter().map(|(_, n)| n.as_str()).collect();
                        path.push(&plain);
                        path.join("::")
                    }
                };
                // wasm-ld marks discarded globals with tombstone addresses (0 or -1);
                // also skip anything not fitting the 32-bit address space.
                let (Ok(addr), Ok(size)) = (u32::try_from(addr), u32::try_from(size)) else {
                    continue;
                };
                if addr == 0 || addr.checked_add(size).is_none() {
                    continue;
                }
                out.push(GlobalSymbol { name, addr, size });
            }
            _ => {}
        }
    }
    Ok(())
}

fn attr_string(
    dwarf: &gimli::Dwarf<DwarfReader>,
    unit: &Unit<DwarfReader>,
    value: Option<AttributeValue<DwarfReader>>,
) -> Option<String> {
    let s = dwarf.attr_string(unit, value?).ok()?;
    Some(s.to_string_lossy().ok()?.into_owned())
}

/// The address of a variable whose location expression is exactly one
/// `DW_OP_addr`/`DW_OP_addrx`; anything else (locals, TLS, pieces) is not a global.
fn static_address(
    dwarf: &gimli::Dwarf<DwarfReader>,
    unit: &Unit<DwarfReader>,
    entry: &gimli::DebuggingInformationEntry<DwarfReader>,
) -> Result<Option<u64>, gimli::Error> {
    let Some(AttributeValue::Exprloc(expr)) = entry.attr_value(gimli::DW_AT_location) else {
        return Ok(None);
    };
    let mut ops = expr.operations(unit.encoding());
    let addr = match ops.next()? {
        Some(Operation::Address { address }) => address,
        Some(Operation::AddressIndex { index }) => dwarf.address(unit, index)?,
        _ => return Ok(None),
    };
    if ops.next()?.is_some() {
        return Ok(None);
    }
    Ok(Some(addr))
}

/// Size in bytes of the type at `offset`, following typedefs and qualifiers and
/// multiplying out array dimensions.
fn type_size(
    unit: &Unit<DwarfReader>,
    offset: UnitOffset,
    depth: usize,
) -> Result<Option<u64>, gimli::Error> {
    if depth > MAX_TYPE_DEPTH {
        return Ok(None);
    }
    let entry = unit.entry(offset)?;
    if let Some(size) = entry
        .attr_value(gimli::DW_AT_byte_size)
        .and_then(|v| v.udata_value())
    {
        return Ok(Some(size));
    }
    let inner = match entry.attr_value(gimli::DW_AT_type) {
        Some(AttributeValue::UnitRef(inner)) => inner,
        _ => return Ok(None),
    };
    match entry.tag() {
        gimli::DW_TAG_typedef
        | gimli::DW_TAG_const_type
        | gimli::DW_TAG_volatile_type
        | gimli::DW_TAG_restrict_type
        | gimli::DW_TAG_atomic_type => type_size(unit, inner, depth + 1),
        gimli::DW_TAG_array_type => {
            let Some(element) = type_size(unit, inner, depth + 1)? else {
                return Ok(None);
            };
            let mut count = 1u64;
            let mut cursor = unit.entries_at_offset(offset)?;
            cursor.next_dfs()?; // the array type itself, depth 0
            while let Some(child) = cursor.next_dfs()? {
                if child.depth() <= 0 {
                    break;
                }
                if child.depth() != 1 || child.tag() != gimli::DW_TAG_subrange_type {
                    continue;
                }
                let n = if let Some(n) = child
                    .attr_value(gimli::DW_AT_count)
                    .and_then(|v| v.udata_value())
                {
                    n
                } else if let Some(upper) = child
                    .attr_value(gimli::DW_AT_upper_bound)
                    .and_then(|v| v.udata_value())
                {
                    let lower = child
                        .attr_value(gimli::DW_AT_lower_bound)
                        .and_then(|v| v.udata_value())
                        .unwrap_or(0);
                    (upper + 1).saturating_sub(lower)
                } else {
                    return Ok(None);
                };
                count = count.saturating_mul(n);
            }
            Ok(Some(element.saturating_mul(count)))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, addr: u32, size: u32) -> GlobalSymbol {
        GlobalSymbol {
            name: name.into(),
            addr,
            size,
        }
    }

    #[test]
    fn lookup_finds_containing_symbol_only() {
        let t = GlobalTable::from_symbols(vec![
            sym("b", 0x200, 8),
            sym("a", 0x100, 4),
            sym("c", 0x300, 1),
        ]);
        assert_eq!(t.lookup(0x100).unwrap().name, "a");
        assert_eq!(t.lookup(0x103).unwrap().name, "a");
        assert!(t.lookup(0x104).is_none());
        assert_eq!(t.lookup(0x207).unwrap().name, "b");
        assert!(t.lookup(0x208).is_none());
        assert_eq!(t.lookup(0x300).unwrap().name, "c");
        assert!(t.lookup(0xff).is_none());
        assert!(t.lookup(u32::MAX).is_none());
    }

    #[test]
    fn duplicates_and_overlaps_are_dropped() {
        let t = GlobalTable::from_symbols(vec![
            sym("dup", 0x100, 4),
            sym("big", 0x100, 16),
            sym("inside", 0x104, 4),
            sym("empty", 0x400, 0),
        ]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup(0x10f).unwrap().name, "big");
        assert!(t.lookup(0x400).is_none());
    }
}
