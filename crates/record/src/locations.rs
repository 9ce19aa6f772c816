//! Location ids: the sites a trace's events come from, numbered densely in first-use
//! order (RapidBin has 15 bits for them, and a module can have far more sites than a
//! run uses). Id 0 is reserved for events without a code location (forks, joins and
//! lock hooks, which the runtime reports outside any instrumented instruction).

use std::collections::BTreeMap;

use wasmgrind_trace::metadata::LocationInfo;

use crate::site_table::SiteTable;

/// The location id of events the runtime reports without a site.
pub const NO_LOCATION: u32 = 0;

const UNASSIGNED: u32 = u32::MAX;

/// The location table of one trace.
#[derive(Debug)]
pub struct LocationIds {
    /// `by_site[site]` = its location id, or `UNASSIGNED`.
    by_site: Vec<u32>,
    /// Location id → where it is in the original module (sites of user code only).
    infos: BTreeMap<u32, LocationInfo>,
    next: u32,
}

impl LocationIds {
    /// An empty table for a module with `sites` sites.
    pub fn new(sites: usize) -> Self {
        LocationIds {
            by_site: vec![UNASSIGNED; sites],
            infos: BTreeMap::new(),
            next: NO_LOCATION + 1,
        }
    }

    /// The location id of `site`, assigning the next id (and noting its original
    /// location from `table`) on first use. Unknown sites get [`NO_LOCATION`].
    #[inline]
    pub fn id(&mut self, site: u32, table: &SiteTable) -> u32 {
        let Some(slot) = self.by_site.get_mut(site as usize) else {
            return NO_LOCATION;
        };
        if *slot != UNASSIGNED {
            return *slot;
        }
        let id = self.next;
        self.next += 1;
        *slot = id;
        if let Some(info) = table.info(site).location {
            self.infos.insert(id, info);
        }
        id
    }

    /// Location id → function index and original code offset.
    pub fn infos(&self) -> &BTreeMap<u32, LocationInfo> {
        &self.infos
    }

    /// Number of ids handed out, the reserved one included.
    pub fn len(&self) -> u32 {
        self.next
    }

    /// Always false: the reserved id exists from the start.
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site_table::SiteInfo;
    use wasmgrind_instrument::{Site, SiteKind};

    #[test]
    fn sites_get_dense_ids_after_the_reserved_one() {
        let site = |offset| Site {
            kind: SiteKind::Read { size: 4 },
            func: 3,
            offset,
            body_offset: 0,
        };
        let sites: std::sync::Arc<[Site]> = vec![site(10), site(20), site(30)].into();
        let info = vec![
            SiteInfo {
                location: Some(LocationInfo {
                    function: 3,
                    offset: 7,
                }),
                ..SiteInfo::default()
            },
            SiteInfo::default(),
            SiteInfo {
                location: Some(LocationInfo {
                    function: 4,
                    offset: 9,
                }),
                ..SiteInfo::default()
            },
        ];
        let table = SiteTable::from_parts(sites, info);
        let mut l = LocationIds::new(table.len());
        assert_eq!(l.id(2, &table), 1);
        assert_eq!(l.id(0, &table), 2);
        assert_eq!(l.id(2, &table), 1);
        assert_eq!(l.id(1, &table), 3);
        assert_eq!(l.id(99, &table), NO_LOCATION);
        assert_eq!(l.len(), 4);
        // Site 1 has no original location (added code): no metadata entry.
        let infos: Vec<_> = l.infos().iter().map(|(&id, i)| (id, i.offset)).collect();
        assert_eq!(infos, vec![(1, 9), (2, 7)]);
    }
}
