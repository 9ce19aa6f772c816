//! A detected data race: the two conflicting accesses as they are reported.

use super::access::{Access, ThreadId};

/// One side of a race.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RaceAccess {
    /// The thread that made the access.
    pub thread: ThreadId,
    /// First byte: for the current access the whole access; for the previous access the
    /// first byte of its part inside the 8-byte granule where the conflict was found
    /// (shadow memory keeps per-granule byte masks, not whole ranges).
    pub addr: u64,
    /// Bytes accessed (for the previous access: within that granule).
    pub size: u32,
    /// True for a write.
    pub write: bool,
    /// True for an atomic access.
    pub atomic: bool,
    /// Code location id, as given by the runtime.
    pub site: u32,
    /// Interned call-stack id, as given by the runtime.
    pub stack: u32,
}

impl RaceAccess {
    /// The report side of access `a` made by thread `thread`.
    pub fn of(thread: ThreadId, a: &Access) -> Self {
        RaceAccess {
            thread,
            addr: a.addr,
            size: a.size,
            write: a.write,
            atomic: a.atomic,
            site: a.site,
            stack: a.stack,
        }
    }
}

/// A data race: `current` was just analyzed and conflicts with the unordered `previous`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Race {
    /// The access whose analysis found the race.
    pub current: RaceAccess,
    /// The earlier access, from another thread, not ordered before `current`.
    pub previous: RaceAccess,
}

impl Race {
    /// The unordered pair of sites that identifies this race for deduplication.
    pub fn site_pair(&self) -> (u32, u32) {
        let (a, b) = (self.current.site, self.previous.site);
        (a.min(b), a.max(b))
    }
}
