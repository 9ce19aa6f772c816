//! Counting racy events and locations the way RAPID does, and keeping a bounded,
//! deduplicated list of race pairs.
//!
//! An access split into pieces by byte range (see [`crate::overlap_split`]) is one
//! event: its later pieces (`Event::continues`) take the index of the first, and the
//! event counts as racy once however many of its pieces race.

use rustc_hash::FxHashSet;
use wasmgrind_trace::Event;

use crate::report::{EventRef, RacePair, Report, MAX_RACE_PAIRS};

/// Locations below this are tracked in a bitset; larger ones in a hash set.
const LOC_BITS: u32 = 1 << 20;

/// Accumulates an engine's findings. Also numbers events (the index of the next one).
#[derive(Debug, Default)]
pub struct RaceCollector {
    events: u64,
    racy_events: u64,
    loc_bits: Vec<u64>,
    loc_big: FxHashSet<u32>,
    racy_locations: u64,
    races: Vec<RacePair>,
    pairs_seen: FxHashSet<(u32, u32)>,
    truncated: bool,
    /// Index of the last event counted racy, so its other pieces do not count again.
    last_racy: Option<u64>,
}

impl RaceCollector {
    /// A fresh collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Numbers the next event and returns its reference; a further piece of a split
    /// access (`e.continues`) gets the index of the event it continues.
    #[inline]
    pub fn next_event(&mut self, e: &Event) -> EventRef {
        if e.continues {
            return EventRef::new(e, self.events.saturating_sub(1));
        }
        let r = EventRef::new(e, self.events);
        self.events += 1;
        r
    }

    /// Events numbered so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Records that `second` races with the earlier `first`; counts `second` once, also
    /// when called again for it (for another piece of the same split access).
    pub fn racy(&mut self, first: EventRef, second: EventRef) {
        if self.last_racy != Some(second.index) {
            self.last_racy = Some(second.index);
            self.count_racy(second.loc);
        }
        self.keep_pair(first, second);
    }

    /// Counts one racy event at `loc`, and `loc` when it is a new racy location.
    #[inline]
    fn count_racy(&mut self, loc: u32) {
        self.racy_events += 1;
        let new_loc = if loc < LOC_BITS {
            let (w, b) = ((loc / 64) as usize, loc % 64);
            if w >= self.loc_bits.len() {
                self.loc_bits.resize(w + 1, 0);
            }
            let fresh = self.loc_bits[w] & (1 << b) == 0;
            self.loc_bits[w] |= 1 << b;
            fresh
        } else {
            self.loc_big.insert(loc)
        };
        if new_loc {
            self.racy_locations += 1;
        }
    }

    /// Keeps the pair unless its location pair is known or the list is full.
    #[inline]
    fn keep_pair(&mut self, first: EventRef, second: EventRef) {
        if self.truncated && self.races.len() >= MAX_RACE_PAIRS {
            return;
        }
        let key = (first.loc.min(second.loc), first.loc.max(second.loc));
        if self.pairs_seen.contains(&key) {
            return;
        }
        if self.races.len() >= MAX_RACE_PAIRS {
            self.truncated = true;
            return;
        }
        self.pairs_seen.insert(key);
        self.races.push(RacePair { first, second });
    }

    /// The report of engine `engine`.
    pub fn into_report(self, engine: &str) -> Report {
        Report {
            engine: engine.to_owned(),
            events: self.events,
            racy_events: self.racy_events,
            racy_locations: self.racy_locations,
            races: self.races,
            races_truncated: self.truncated,
            deadlocks: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmgrind_trace::Op;

    fn r(thread: u32, loc: u32, index: u64) -> EventRef {
        EventRef {
            thread,
            loc,
            index,
            op: Op::Write,
        }
    }

    #[test]
    fn counts_events_locations_and_dedups_pairs() {
        let mut c = RaceCollector::new();
        let e = c.next_event(&Event::new(0, Op::Write, 0, 3));
        assert_eq!(e.index, 0);
        c.racy(r(0, 1, 0), r(1, 2, 5));
        c.racy(r(0, 2, 1), r(1, 1, 6)); // same location pair, other direction
        c.racy(r(0, 1, 2), r(1, 5_000_000, 7));
        let rep = c.into_report("x");
        assert_eq!(rep.racy_events, 3);
        assert_eq!(rep.racy_locations, 3);
        assert_eq!(rep.races.len(), 2);
        assert_eq!(rep.events, 1);
        assert!(!rep.races_truncated);
    }

    #[test]
    fn pieces_of_a_split_access_share_an_index_and_count_once() {
        let mut c = RaceCollector::new();
        let whole = Event::new(1, Op::Write, 7, 3);
        let piece = Event {
            decor: 8,
            continues: true,
            ..whole
        };
        let a = c.next_event(&whole);
        let b = c.next_event(&piece);
        assert_eq!((a.index, b.index), (0, 0));
        c.racy(r(0, 1, 0), a);
        c.racy(r(0, 2, 0), b); // another piece races with another access
        let next = c.next_event(&Event::new(1, Op::Read, 7, 4));
        assert_eq!(next.index, 1);
        c.racy(r(0, 1, 0), next);
        let rep = c.into_report("x");
        assert_eq!(rep.events, 2);
        assert_eq!(rep.racy_events, 2, "the split write counts once");
        assert_eq!(rep.racy_locations, 2);
        assert_eq!(rep.races.len(), 3, "each new location pair is kept");
    }

    #[test]
    fn race_list_is_bounded() {
        let mut c = RaceCollector::new();
        for i in 0..(MAX_RACE_PAIRS as u32 + 10) {
            c.racy(r(0, i, 0), r(1, i + 100_000, u64::from(i) + 1));
        }
        let rep = c.into_report("x");
        assert_eq!(rep.races.len(), MAX_RACE_PAIRS);
        assert!(rep.races_truncated);
        assert_eq!(rep.racy_events, MAX_RACE_PAIRS as u64 + 10);
    }
}
