//! Byte-precise conflicts for the offline engines: splitting accesses to overlapping
//! variables into pieces that share variable ids exactly where they share bytes.
//!
//! A trace names each access's variable by its `(address, size)`, so an 8-byte write
//! at `a` and a 4-byte read at `a + 4` are different variables and no engine sees them
//! conflict. Given every variable's byte range (the trace's metadata), [`OverlapSplit`]
//! finds the groups of variables whose ranges overlap, cuts each group's bytes at every
//! variable boundary into *atoms* (maximal byte ranges no variable boundary crosses),
//! and gives each atom a variable id: the id of the variable that is exactly that atom
//! if there is one, a fresh id otherwise. An access to a variable of such a group then
//! becomes one access per atom it covers, so two accesses conflict exactly when they
//! share a byte. Variables overlapping nothing keep their id and their events pass
//! through untouched, so the common case costs one table look-up per access, and a
//! trace without overlaps is not adapted at all.
//!
//! The pieces of one access are consecutive events of its thread; the second and later
//! ones carry `Event::continues`, so the engines' race collector gives them the index
//! of the first and counts the access as racy once, whichever of its pieces race
//! (RAPID's per-event counting is unchanged). Treating a wide plain access as several
//! narrower ones in a row matches wasm's memory model, where non-atomic accesses may
//! tear. Zero-size variables (empty bulk operations) touch no byte and are left alone.

use std::collections::BTreeMap;

use wasmgrind_trace::metadata::VariableInfo;
use wasmgrind_trace::{Event, EventReader, TraceError};

use crate::id_map::IdMap;
use crate::report::Report;
use crate::run::{analyze, EngineKind};

/// Where a split variable's pieces are in [`OverlapSplit::pieces`]. `len == 0` (the
/// default) means "not split: keep the id".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// The piece table of one trace: which variables are split, and into which atom ids.
#[derive(Debug, Default)]
pub struct OverlapSplit {
    /// Variable id → its pieces. Only variables that change are present.
    spans: IdMap<Span>,
    /// Atom ids; each overlap group's atoms are contiguous, in address order, so a
    /// variable's pieces are one slice of them.
    pieces: Vec<u64>,
    /// Variables whose accesses change (split, or renamed to one atom).
    changed: usize,
    /// Overlap groups (connected sets of at least two overlapping variables).
    groups: usize,
    /// The smallest id above every variable and atom id.
    next_id: u64,
}

/// One variable's byte range `[start, end)`.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: u64,
    end: u64,
    id: u64,
}

impl OverlapSplit {
    /// The piece table of variables `variables` (id → address and size). Fresh atom ids
    /// are numbered from `first_free_id` on, raised past every id in `variables`; pass
    /// an id above every variable id the trace uses (RapidBin: the header's variable
    /// count) so atoms cannot collide with variables missing from the metadata.
    pub fn new(variables: &BTreeMap<u64, VariableInfo>, first_free_id: u64) -> Self {
        let mut next_id = variables
            .keys()
            .next_back()
            .map_or(0, |&max| max.saturating_add(1))
            .max(first_free_id);
        let mut ranges: Vec<Range> = variables
            .iter()
            .filter(|(_, v)| v.size > 0)
            .map(|(&id, v)| Range {
                start: v.address,
                end: v.address.saturating_add(v.size.into()),
                id,
            })
            .collect();
        ranges.sort_unstable_by_key(|r| (r.start, r.end, r.id));
        let mut split = OverlapSplit::default();
        let mut group_start = 0;
        let mut group_end = 0u64;
        for i in 0..ranges.len() {
            // A group is a maximal run whose ranges overlap their predecessors' union.
            if i > group_start && ranges[i].start >= group_end {
                split.add_group(&ranges[group_start..i], &mut next_id);
                group_start = i;
            }
            group_end = if i == group_start {
                ranges[i].end
            } else {
                group_end.max(ranges[i].end)
            };
        }
        if group_start < ranges.len() {
            split.add_group(&ranges[group_start..], &mut next_id);
        }
        split.next_id = next_id;
        split
    }

    /// Cuts one group of ranges (sorted by start; each overlapping the union of the
    /// ones before it) into atoms and records the pieces of each of its variables.
    fn add_group(&mut self, group: &[Range], next_id: &mut u64) {
        if group.len() < 2 {
            return;
        }
        let mut cuts: Vec<u64> = group.iter().flat_map(|r| [r.start, r.end]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let atoms = cuts.len() - 1;
        // Keep `Span` offsets in u32: a table this large cannot be real metadata.
        let Ok(base) = u32::try_from(self.pieces.len()) else {
            return;
        };
        if u32::try_from(self.pieces.len() + atoms).is_err() {
            return;
        }
        // Atom ids: the id of a variable that is exactly the atom (the smallest such,
        // as `group` is sorted by (start, end, id)), else a fresh id. The group's union
        // is one interval, so every atom lies inside some variable.
        let mut exact: Vec<Option<u64>> = vec![None; atoms];
        for r in group {
            let a = cuts.partition_point(|&c| c < r.start);
            if cuts[a + 1] == r.end && exact[a].is_none() {
                exact[a] = Some(r.id);
            }
        }
        for e in exact {
            let id = e.unwrap_or_else(|| {
                let id = *next_id;
                *next_id += 1;
                id
            });
            self.pieces.push(id);
        }
        for r in group {
            let a = cuts.partition_point(|&c| c < r.start);
            let b = cuts.partition_point(|&c| c < r.end);
            let own = &self.pieces[base as usize + a..base as usize + b];
            if own != [r.id] {
                *self.spans.entry(r.id) = Span {
                    start: base + a as u32,
                    len: (b - a) as u32,
                };
                self.changed += 1;
            }
        }
        self.groups += 1;
    }

    /// True when no variable overlaps another: adapting changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changed == 0
    }

    /// Variables whose accesses are split or renamed.
    pub fn changed_variables(&self) -> usize {
        self.changed
    }

    /// Groups of mutually overlapping variables.
    pub fn overlap_groups(&self) -> usize {
        self.groups
    }

    /// The smallest id above every variable id given and every atom id made.
    pub fn next_free_id(&self) -> u64 {
        self.next_id
    }

    /// The variable ids an access to `var` becomes, in address order; `None` when the
    /// access keeps `var`.
    #[inline]
    pub fn pieces(&self, var: u64) -> Option<&[u64]> {
        let s = *self.spans.get(var)?;
        (s.len > 0).then(|| &self.pieces[s.start as usize..(s.start + s.len) as usize])
    }

    /// Adapts an event stream: accesses to split variables become their pieces, every
    /// other event passes through. Read errors pass through too.
    pub fn adapt<I, E>(&self, events: I) -> SplitEvents<'_, I::IntoIter>
    where
        I: IntoIterator<Item = Result<Event, E>>,
    {
        SplitEvents {
            split: self,
            inner: events.into_iter(),
            pending: None,
            next_piece: 0,
        }
    }
}

/// The event stream of [`OverlapSplit::adapt`].
#[derive(Debug)]
pub struct SplitEvents<'a, I> {
    split: &'a OverlapSplit,
    inner: I,
    /// The access being split, with its pieces; `next_piece` is the next to emit.
    pending: Option<(Event, &'a [u64])>,
    next_piece: usize,
}

impl<I, E> Iterator for SplitEvents<'_, I>
where
    I: Iterator<Item = Result<Event, E>>,
{
    type Item = Result<Event, E>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some((e, pieces)) = self.pending {
            let decor = pieces[self.next_piece];
            self.next_piece += 1;
            if self.next_piece == pieces.len() {
                self.pending = None;
            }
            return Some(Ok(Event {
                decor,
                continues: true,
                ..e
            }));
        }
        let e = match self.inner.next()? {
            Ok(e) => e,
            Err(err) => return Some(Err(err)),
        };
        if !e.op.is_access() {
            return Some(Ok(e));
        }
        let Some(pieces) = self.split.pieces(e.decor) else {
            return Some(Ok(e));
        };
        if pieces.len() > 1 {
            self.pending = Some((e, pieces));
            self.next_piece = 1;
        }
        Some(Ok(Event {
            decor: pieces[0],
            ..e
        }))
    }
}

/// Runs engine `kind` over the trace `reader` with accesses split by the byte ranges of
/// `variables` (the metadata's id → address and size); `threads` as in [`analyze`].
///
/// RapidBin ids are the metadata's ids. An STD trace's ids are its own tokens interned
/// in first-seen order, so they are first translated back: a token `V<n>` (what the
/// recorder and `convert` write) is the metadata's variable `n`; any other token is a
/// variable the metadata does not describe, given a fresh id.
pub fn analyze_split(
    kind: EngineKind,
    reader: &mut EventReader,
    threads: Option<usize>,
    variables: &BTreeMap<u64, VariableInfo>,
) -> Result<Report, TraceError> {
    let trace_ids = match reader {
        EventReader::RapidBin(r) => u64::try_from(r.header().variables).unwrap_or(0),
        EventReader::Std(_) => 0,
    };
    let split = OverlapSplit::new(variables, trace_ids);
    if split.is_empty() {
        return analyze(kind, reader, threads);
    }
    match reader {
        EventReader::RapidBin(_) => analyze(kind, split.adapt(reader), threads),
        EventReader::Std(_) => {
            let ids = StdVariableIds::new(reader, variables, split.next_free_id());
            analyze(kind, split.adapt(ids), threads)
        }
    }
}

/// An STD trace's events with variable ids translated to the metadata's (see
/// [`analyze_split`]); the reader's name table is consulted once per new variable.
struct StdVariableIds<'r> {
    reader: &'r mut EventReader,
    known: &'r BTreeMap<u64, VariableInfo>,
    /// Interned id → metadata (or fresh) id.
    ids: Vec<u64>,
    next_free: u64,
}

impl<'r> StdVariableIds<'r> {
    fn new(
        reader: &'r mut EventReader,
        known: &'r BTreeMap<u64, VariableInfo>,
        first_free: u64,
    ) -> Self {
        StdVariableIds {
            reader,
            known,
            ids: Vec::new(),
            next_free: first_free,
        }
    }

    /// The metadata id of interned variable `id`.
    fn translate(&mut self, id: u64) -> u64 {
        let Ok(i) = usize::try_from(id) else {
            return id;
        };
        while self.ids.len() <= i {
            let token = self
                .reader
                .names()
                .and_then(|n| n.variables.get(self.ids.len()));
            let meta = token
                .and_then(|t| t.strip_prefix('V'))
                .and_then(|n| n.parse::<u64>().ok().filter(|v| format!("{v}") == n))
                .filter(|v| self.known.contains_key(v));
            let mapped = meta.unwrap_or_else(|| {
                self.next_free += 1;
                self.next_free - 1
            });
            self.ids.push(mapped);
        }
        self.ids[i]
    }
}

impl Iterator for StdVariableIds<'_> {
    type Item = Result<Event, TraceError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let mut e = match self.reader.next()? {
            Ok(e) => e,
            Err(err) => return Some(Err(err)),
        };
        if e.op.is_access() {
            e.decor = self.translate(e.decor);
        }
        Some(Ok(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use wasmgrind_trace::{open_trace, Op};

    /// The race engines (the deadlock engine ignores accesses).
    fn race_engines() -> impl Iterator<Item = EngineKind> {
        EngineKind::ALL
            .into_iter()
            .filter(|&kind| kind != EngineKind::Deadlock)
    }

    fn vars(list: &[(u64, u64, u32)]) -> BTreeMap<u64, VariableInfo> {
        list.iter()
            .map(|&(id, address, size)| (id, VariableInfo { address, size }))
            .collect()
    }

    fn run(kind: EngineKind, events: &[Event], split: Option<&OverlapSplit>) -> Report {
        let events = events
            .iter()
            .copied()
            .map(Ok::<_, wasmgrind_trace::TraceError>);
        match split {
            Some(s) => analyze(kind, s.adapt(events), None),
            None => analyze(kind, events, None),
        }
        .unwrap()
    }

    fn w(t: u32, var: u64, loc: u32) -> Event {
        Event::new(t, Op::Write, var, loc)
    }

    fn r(t: u32, var: u64, loc: u32) -> Event {
        Event::new(t, Op::Read, var, loc)
    }

    /// 0: 8 bytes at 0x100; 1: its upper half; 2: one byte in that half; 3 and 4: the
    /// 4-byte neighbours just after and just before (touching, not overlapping).
    fn layout() -> BTreeMap<u64, VariableInfo> {
        vars(&[
            (0, 0x100, 8),
            (1, 0x104, 4),
            (2, 0x106, 1),
            (3, 0x108, 4),
            (4, 0xfc, 4),
        ])
    }

    #[test]
    fn atoms_cut_at_every_boundary_and_reuse_exact_ids() {
        let s = OverlapSplit::new(&layout(), 0);
        // Atoms: [100,104) [104,106) [106,107)=2 [107,108), fresh ids from 5 on.
        assert_eq!(s.pieces(0), Some(&[5, 6, 2, 7][..]));
        assert_eq!(s.pieces(1), Some(&[6, 2, 7][..]));
        assert_eq!(s.pieces(2), None, "an atom itself keeps its id");
        assert_eq!(s.pieces(3), None, "touching is not overlapping");
        assert_eq!(s.pieces(4), None);
        assert_eq!(s.pieces(99), None, "unknown variables pass through");
        assert_eq!((s.changed_variables(), s.overlap_groups()), (2, 1));
        // Fresh ids start above the trace's own ids.
        let s = OverlapSplit::new(&layout(), 100);
        assert_eq!(s.pieces(1), Some(&[101, 2, 102][..]));
    }

    #[test]
    fn duplicate_ranges_become_one_variable_and_empty_ones_stay() {
        let s = OverlapSplit::new(&vars(&[(3, 0x10, 4), (1, 0x10, 4), (2, 0x10, 0)]), 0);
        assert_eq!(s.pieces(1), None);
        assert_eq!(s.pieces(3), Some(&[1][..]));
        assert_eq!(s.pieces(2), None);
        assert!(OverlapSplit::new(&layout(), 0).pieces(0).is_some());
        assert!(OverlapSplit::new(&vars(&[(0, 0, 4), (1, 4, 4)]), 0).is_empty());
    }

    #[test]
    fn adapter_emits_pieces_as_one_event() {
        let s = OverlapSplit::new(&layout(), 0);
        let input = [w(1, 0, 9), r(1, 3, 10), Event::new(1, Op::Acquire, 0, 11)];
        let out: Vec<Event> = s
            .adapt(input.iter().copied().map(Ok::<_, ()>))
            .map(Result::unwrap)
            .collect();
        let piece = |decor, continues| Event {
            decor,
            continues,
            ..w(1, 0, 9)
        };
        assert_eq!(
            out,
            [
                piece(5, false),
                piece(6, true),
                piece(2, true),
                piece(7, true),
                input[1],
                input[2]
            ]
        );
        // Errors pass through.
        let mut errs = s.adapt([Ok(w(0, 1, 1)), Err("bad")]);
        assert_eq!(
            errs.next(),
            Some(Ok(Event {
                decor: 6,
                ..w(0, 1, 1)
            }))
        );
        assert_eq!(errs.nth(2), Some(Err("bad")));
    }

    #[test]
    fn overlapping_widths_conflict_in_every_engine() {
        let s = OverlapSplit::new(&layout(), 0);
        // An 8-byte write, then another thread's 1-byte write inside it.
        let trace = [Event::new(0, Op::Fork, 1, 1), w(0, 0, 2), w(1, 2, 3)];
        for kind in race_engines() {
            let split = run(kind, &trace, Some(&s));
            assert_eq!(split.racy_events, 1, "{kind}");
            assert_eq!(split.events, 3, "{kind}: pieces are not events");
            let pair = split.races[0];
            assert_eq!((pair.first.index, pair.second.index), (1, 2), "{kind}");
            assert_eq!(run(kind, &trace, None).racy_events, 0, "{kind} unsplit");
        }
    }

    #[test]
    fn disjoint_neighbours_do_not_conflict() {
        let s = OverlapSplit::new(&layout(), 0);
        let trace = [
            Event::new(0, Op::Fork, 1, 1),
            w(0, 0, 2),
            w(1, 3, 3),
            w(1, 4, 4),
            r(1, 3, 5),
        ];
        for kind in race_engines() {
            assert_eq!(run(kind, &trace, Some(&s)).racy_events, 0, "{kind}");
        }
    }

    #[test]
    fn a_split_access_counts_once_whatever_pieces_race() {
        let s = OverlapSplit::new(&layout(), 0);
        // Thread 1 writes two disjoint parts of the 8 bytes, then thread 0 the whole.
        let trace = [
            Event::new(0, Op::Fork, 1, 1),
            w(1, 1, 2),
            w(1, 2, 3),
            w(0, 0, 4),
            r(0, 0, 5),
        ];
        for kind in [
            EngineKind::Hb,
            EngineKind::Shb,
            EngineKind::Wcp,
            EngineKind::SyncP,
        ] {
            let rep = run(kind, &trace, Some(&s));
            // Thread 1's writes race nothing yet; the 8-byte write races both of them
            // (two pieces, one racy event); the read after it is program-ordered after
            // that write but races thread 1's writes too.
            assert_eq!(rep.events, 5, "{kind}");
            assert_eq!(rep.racy_events, 2, "{kind}");
            assert_eq!(rep.racy_locations, 2, "{kind}");
            assert!(rep.races.iter().all(|p| p.second.index >= 3), "{kind}");
            assert!(rep.races.iter().any(|p| p.second.index == 3), "{kind}");
        }
        // FastTrack checks the read only against the last write (thread 0's own).
        let ft = run(EngineKind::FastTrack, &trace, Some(&s));
        assert_eq!((ft.events, ft.racy_events), (5, 1));
        assert_eq!(ft.races[0].second.index, 3);
    }

    #[test]
    fn std_tokens_name_the_metadata_variables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.std");
        // Interned in first-seen order, V2 would be id 0 and V0 id 1; `X` and `V7` are
        // not in the metadata and must not collide with each other or with atoms.
        let text = "T0|fork(T1)|1\nT1|w(V2)|2\nT0|w(V0)|3\nT1|r(X)|4\nT0|w(V7)|5\nT1|w(V4)|6\n";
        std::fs::write(&path, text).unwrap();
        for kind in race_engines() {
            let mut reader = open_trace(&path).unwrap();
            let rep = analyze_split(kind, &mut reader, None, &layout()).unwrap();
            assert_eq!((rep.events, rep.racy_events), (6, 1), "{kind}");
            assert_eq!(rep.races[0].second.index, 2, "{kind}");
            let mut reader = open_trace(&path).unwrap();
            assert_eq!(
                analyze(kind, &mut reader, None).unwrap().racy_events,
                0,
                "{kind}"
            );
        }
    }

    #[test]
    fn rapidbin_atoms_stay_above_the_trace_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.rapidbin");
        // Variable 5 is in the trace, not in the metadata: the first fresh atom id
        // would be 5 if the header's variable count were ignored.
        let mut wr = wasmgrind_trace::rapidbin::RapidBinWriter::create(&path).unwrap();
        for e in [
            Event::new(0, Op::Fork, 1, 1),
            w(1, 0, 2),
            w(0, 5, 3),
            w(1, 5, 4),
        ] {
            wr.write(&e).unwrap();
        }
        wr.finish().unwrap();
        let mut reader = open_trace(&path).unwrap();
        let rep = analyze_split(EngineKind::Hb, &mut reader, None, &layout()).unwrap();
        // Only variable 5's two writes race; 0's first atom is not variable 5.
        assert_eq!(rep.racy_events, 1);
        assert_eq!(rep.races[0].second.index, 3);
    }

    /// Random traces: forks of threads 1..threads, then accesses and lock-protected
    /// steps drawn from `steps`; an access names a variable by index.
    fn trace_of(threads: u32, steps: &[(u32, u8, u8)], nvars: u64) -> Vec<Event> {
        let mut out: Vec<Event> = (1..threads)
            .map(|t| Event::new(0, Op::Fork, t.into(), 1))
            .collect();
        for (i, &(t, kind, var)) in steps.iter().enumerate() {
            let t = t % threads;
            let loc = 2 + i as u32 % 7;
            let var = u64::from(var) % nvars;
            match kind % 4 {
                0 => out.push(r(t, var, loc)),
                1 => out.push(w(t, var, loc)),
                2 => {
                    out.push(Event::new(t, Op::Acquire, 0, loc));
                    out.push(w(t, var, loc));
                    out.push(Event::new(t, Op::Release, 0, loc));
                }
                _ => {
                    out.push(Event::new(t, Op::Acquire, 1, loc));
                    out.push(r(t, var, loc));
                    out.push(Event::new(t, Op::Release, 1, loc));
                }
            }
        }
        out
    }

    /// The reference: every access split into one piece per byte.
    fn per_byte(events: &[Event], variables: &BTreeMap<u64, VariableInfo>) -> Vec<Event> {
        let mut out = Vec::new();
        for e in events {
            match variables.get(&e.decor).filter(|_| e.op.is_access()) {
                Some(v) => out.extend((0..u64::from(v.size)).map(|b| Event {
                    decor: 1000 + v.address + b,
                    continues: b > 0,
                    ..*e
                })),
                None => out.push(*e),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Without overlapping variables nothing changes, for every engine.
        #[test]
        fn no_overlaps_same_result(
            sizes in proptest::collection::vec((1u32..9, 0u64..3), 1..6),
            threads in 2u32..4,
            steps in proptest::collection::vec((0u32..4, 0u8..4, 0u8..8), 0..40),
        ) {
            // Disjoint ranges, some touching (gap 0); ids in reverse address order.
            let mut address = 0x40;
            let n = sizes.len() as u64;
            let mut list = Vec::new();
            for (i, &(size, gap)) in sizes.iter().enumerate() {
                address += gap;
                list.push((n - 1 - i as u64, address, size));
                address += u64::from(size);
            }
            let variables = vars(&list);
            let s = OverlapSplit::new(&variables, n);
            prop_assert!(s.is_empty());
            let trace = trace_of(threads, &steps, n);
            for kind in race_engines() {
                prop_assert_eq!(run(kind, &trace, Some(&s)), run(kind, &trace, None), "{}", kind);
            }
        }

        /// With overlaps, splitting into atoms finds what splitting into bytes finds.
        #[test]
        fn atoms_agree_with_bytes(
            layout in proptest::collection::vec((0u64..12, prop_oneof![Just(1u32), Just(2), Just(4), Just(8)]), 1..6),
            threads in 2u32..4,
            steps in proptest::collection::vec((0u32..4, 0u8..4, 0u8..8), 0..40),
        ) {
            let list: Vec<_> = layout.iter().enumerate().map(|(i, &(a, s))| (i as u64, a, s)).collect();
            let variables = vars(&list);
            let s = OverlapSplit::new(&variables, 0);
            let trace = trace_of(threads, &steps, list.len() as u64);
            let bytes = per_byte(&trace, &variables);
            for kind in race_engines() {
                let atoms = run(kind, &trace, Some(&s));
                let reference = run(kind, &bytes, None);
                prop_assert_eq!(atoms.events, reference.events, "{}", kind);
                prop_assert_eq!(atoms.racy_events, reference.racy_events, "{}", kind);
                prop_assert_eq!(atoms.racy_locations, reference.racy_locations, "{}", kind);
            }
        }
    }
}
