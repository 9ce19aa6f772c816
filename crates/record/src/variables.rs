//! Variable ids: each distinct accessed byte range `(address, size)` is one variable,
//! numbered densely in first-use order (RAPID compares variables by id only).
//!
//! Two variables whose byte ranges overlap (an 8-byte write and a 4-byte read of its
//! upper half) are different ids, so an offline tool cannot see that they conflict;
//! the table records such pairs so the metadata can say so.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use wasmgrind_trace::metadata::VariableInfo;

/// Accesses up to this many bytes (v128 is the widest) are "small" and kept in an
/// ordered map searched in a window of this width; larger ranges (bulk operations)
/// are few and searched linearly.
const SMALL: u32 = 16;

/// Most overlapping pairs kept; beyond it only a flag says more exist.
pub const MAX_OVERLAPS: usize = 1 << 16;

/// The variable table of one trace.
#[derive(Debug, Default)]
pub struct VariableIds {
    /// Hot path: `(address, size)` → id.
    ids: FxHashMap<(u64, u32), u64>,
    /// `infos[id]` = the variable's range.
    infos: Vec<VariableInfo>,
    /// Small variables ordered by `(address, size)`, for overlap queries.
    small: BTreeMap<(u64, u32), u64>,
    /// Variables larger than [`SMALL`] bytes: `(address, size, id)`.
    large: Vec<(u64, u32, u64)>,
    overlaps: Vec<(u64, u64)>,
    overlaps_truncated: bool,
}

impl VariableIds {
    /// The id of the `size` bytes at `address`, assigning the next id when new.
    #[inline]
    pub fn id(&mut self, address: u64, size: u32) -> u64 {
        if let Some(&id) = self.ids.get(&(address, size)) {
            return id;
        }
        self.insert(address, size)
    }

    #[cold]
    fn insert(&mut self, address: u64, size: u32) -> u64 {
        let id = self.infos.len() as u64;
        self.record_overlaps(address, size, id);
        self.ids.insert((address, size), id);
        self.infos.push(VariableInfo { address, size });
        if size <= SMALL {
            self.small.insert((address, size), id);
        } else {
            self.large.push((address, size, id));
        }
        id
    }

    /// Notes every existing variable overlapping `[address, address + size)`.
    fn record_overlaps(&mut self, address: u64, size: u32, id: u64) {
        if self.overlaps_truncated {
            return;
        }
        let end = address.saturating_add(size.max(1).into());
        let overlaps = |a: u64, s: u32| a < end && a.saturating_add(s.max(1).into()) > address;
        // A small variable starting more than SMALL bytes before `address` ends before it.
        let from = (address.saturating_sub(SMALL.into()), 0);
        let mut found: Vec<u64> = self
            .small
            .range(from..(end, 0))
            .filter(|(&(a, s), _)| overlaps(a, s))
            .map(|(_, &other)| other)
            .collect();
        found.extend(
            self.large
                .iter()
                .filter(|&&(a, s, _)| overlaps(a, s))
                .map(|&(_, _, other)| other),
        );
        found.sort_unstable();
        for other in found {
            if self.overlaps.len() >= MAX_OVERLAPS {
                self.overlaps_truncated = true;
                return;
            }
            self.overlaps.push((other, id));
        }
    }

    /// Number of variables.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// True before the first access.
    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// `infos()[id]` = where variable `id` lives.
    pub fn infos(&self) -> &[VariableInfo] {
        &self.infos
    }

    /// Pairs `(earlier id, later id)` of variables whose byte ranges overlap.
    pub fn overlaps(&self) -> &[(u64, u64)] {
        &self.overlaps
    }

    /// True when more than [`MAX_OVERLAPS`] pairs overlapped and the rest were dropped.
    pub fn overlaps_truncated(&self) -> bool {
        self.overlaps_truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_ids_in_first_use_order_keyed_by_address_and_size() {
        let mut v = VariableIds::default();
        assert_eq!(v.id(0x100, 4), 0);
        assert_eq!(v.id(0x200, 4), 1);
        assert_eq!(v.id(0x100, 4), 0);
        // Same address, other size: another variable.
        assert_eq!(v.id(0x100, 8), 2);
        assert_eq!(v.len(), 3);
        assert_eq!(
            v.infos()[2],
            VariableInfo {
                address: 0x100,
                size: 8
            }
        );
    }

    #[test]
    fn overlapping_ranges_are_noted_byte_precisely() {
        let mut v = VariableIds::default();
        let wide = v.id(0x100, 8);
        let upper = v.id(0x104, 4); // upper half of `wide`
        let next = v.id(0x108, 4); // adjacent, no overlap
        let before = v.id(0xfc, 4); // ends exactly at 0x100, no overlap
        let byte = v.id(0x107, 1); // inside both `wide` and `upper`
        assert_eq!(v.overlaps(), &[(wide, upper), (wide, byte), (upper, byte)]);
        assert!(!v
            .overlaps()
            .iter()
            .any(|&(a, b)| a == next || b == next || a == before || b == before));
        // A bulk range covering several small variables, and a small one inside it later.
        let bulk = v.id(0x100, 64);
        let inside = v.id(0x130, 4);
        let tail = &v.overlaps()[3..];
        assert_eq!(
            tail,
            &[
                (wide, bulk),
                (upper, bulk),
                (next, bulk),
                (byte, bulk),
                (bulk, inside)
            ]
        );
        assert!(!v.overlaps_truncated());
    }
}
