//! The accesses `syncp` keeps as candidate first events of later races, per variable
//! and thread.
//!
//! Layout: a trace of many variables keeps a few candidates on each of millions of
//! them, mostly from one thread, so per-variable heap blocks would dominate both
//! memory and time (an allocation per variable and thread, and as many frees when the
//! engine is dropped). So a variable's record holds its single accessor's entry
//! inline (heap blocks only for variables of several threads), and every (variable,
//! thread) list is a chunk of one shared [`Pool`]: power-of-two chunks cut from large
//! pages, recycled through per-size free lists when a list moves to a bigger one; only
//! lists longer than the largest chunk get their own vector.

use crate::clock::grown_mask;
use crate::id_map::{prefetch, prefetch_slice, prefetch_whole};

/// One access kept as a candidate first event: 16 bytes (the candidates are the bulk
/// of the engine's memory on traces of many variables).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cand {
    /// Position in its thread.
    pub pos: u32,
    pub loc: u32,
    /// Trace index, with [`WRITE_BIT`] set for a write (trace indices stay far below).
    pub index_w: u64,
}

/// [`Cand::index_w`]: the access is a write.
pub(super) const WRITE_BIT: u64 = 1 << 63;

impl Cand {
    #[inline]
    pub fn write(&self) -> bool {
        self.index_w & WRITE_BIT != 0
    }

    #[inline]
    pub fn index(&self) -> u64 {
        self.index_w & !WRITE_BIT
    }
}

/// Chunk size classes: class `k` holds `2 << k` candidates.
const CLASSES: usize = 10;

/// [`List::class`] of a list with no storage yet.
const EMPTY: u8 = u8::MAX;

/// [`List::class`] of a list in its own vector ([`Pool::big`]).
const BIG: u8 = u8::MAX - 1;

/// Slots per pool page (a chunk never spans two pages, so at least the largest
/// chunk). Small in unit tests, so that they fill several.
const PAGE_BITS: u32 = if cfg!(test) { CLASSES as u32 } else { 16 };
const PAGE: usize = 1 << PAGE_BITS;

/// One (variable, thread)'s candidates in the [`Pool`]: `len` of them from slot `at`
/// of a chunk of class `class` (or, for [`BIG`], in `Pool::big[at]`).
#[derive(Debug, Clone, Copy)]
struct List {
    at: u32,
    len: u32,
    class: u8,
}

impl List {
    const NEW: List = List {
        at: 0,
        len: 0,
        class: EMPTY,
    };

    /// Candidates the list's storage holds before it must move.
    #[inline]
    fn cap(&self) -> usize {
        match self.class {
            EMPTY => 0,
            BIG => usize::MAX,
            k => 2 << k,
        }
    }
}

/// The storage of every candidate list (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Pool {
    /// Every page but the last holds [`PAGE`] slots; slot `i` is
    /// `pages[i >> PAGE_BITS][i % PAGE]`.
    pages: Vec<Vec<Cand>>,
    /// Per class, the first slots of free chunks.
    free: [Vec<u32>; CLASSES],
    /// Lists longer than the largest chunk.
    big: Vec<Vec<Cand>>,
    /// Indices of unused `big` vectors.
    big_free: Vec<u32>,
}

impl Pool {
    /// The candidates of `l`.
    #[inline]
    fn slice(&self, l: &List) -> &[Cand] {
        match l.class {
            EMPTY => &[],
            BIG => &self.big[l.at as usize],
            _ => {
                let (p, o) = (l.at as usize >> PAGE_BITS, l.at as usize & (PAGE - 1));
                &self.pages[p][o..o + l.len as usize]
            }
        }
    }

    /// The chunk `l` lives in, whole (`l.cap()` slots); `l` must be pooled.
    #[inline]
    fn chunk_mut(&mut self, l: &List) -> &mut [Cand] {
        let (p, o) = (l.at as usize >> PAGE_BITS, l.at as usize & (PAGE - 1));
        &mut self.pages[p][o..o + l.cap()]
    }

    /// The first slot of a free chunk of class `k`.
    fn alloc(&mut self, k: usize) -> u32 {
        if let Some(at) = self.free[k].pop() {
            return at;
        }
        let size = 2 << k;
        if self.pages.last().is_none_or(|p| p.len() + size > PAGE) {
            self.pages.push(Vec::new());
        }
        let p = self.pages.len() - 1;
        let page = &mut self.pages[p];
        let o = page.len();
        // The last page grows like a vector (small traces stay small) up to a page.
        if o + size > page.capacity() && o + size > PAGE / 2 {
            page.reserve_exact(PAGE - o);
        }
        page.resize(o + size, Cand::default());
        u32::try_from(p * PAGE + o).expect("candidate pool beyond 2^32 slots")
    }

    /// Gives `l`'s storage back (`l` is left empty).
    fn release(&mut self, l: &mut List) {
        match l.class {
            EMPTY => {}
            BIG => {
                let v = &mut self.big[l.at as usize];
                v.clear();
                v.shrink_to_fit();
                self.big_free.push(l.at);
            }
            k => self.free[k as usize].push(l.at),
        }
        *l = List::NEW;
    }

    /// Appends `c` to `l`, moving it to a bigger chunk when full.
    #[inline]
    fn push(&mut self, l: &mut List, c: Cand) {
        if l.len as usize == l.cap() {
            self.grow(l);
        }
        if l.class == BIG {
            self.big[l.at as usize].push(c);
        } else {
            let i = l.len as usize;
            self.chunk_mut(l)[i] = c;
        }
        l.len += 1;
    }

    /// Moves full `l` to a chunk of the next class, or to its own vector.
    #[cold]
    fn grow(&mut self, l: &mut List) {
        let next = if l.class == EMPTY { 0 } else { l.class + 1 };
        let len = l.len;
        if next as usize >= CLASSES {
            let mut v = Vec::with_capacity(2 * len as usize);
            v.extend_from_slice(self.slice(l));
            let at = match self.big_free.pop() {
                Some(at) => {
                    self.big[at as usize] = v;
                    at
                }
                None => {
                    self.big.push(v);
                    u32::try_from(self.big.len() - 1).expect("fewer than 2^32 lists")
                }
            };
            self.release(l);
            *l = List {
                at,
                len,
                class: BIG,
            };
            return;
        }
        let at = self.alloc(next as usize);
        let mut new = List {
            at,
            len,
            class: next,
        };
        if l.class != EMPTY {
            let n = len as usize;
            let (sp, so) = (l.at as usize >> PAGE_BITS, l.at as usize & (PAGE - 1));
            let (dp, d) = (at as usize >> PAGE_BITS, at as usize & (PAGE - 1));
            if sp == dp {
                self.pages[sp].copy_within(so..so + n, d);
            } else {
                let [src, dst] = self
                    .pages
                    .get_disjoint_mut([sp, dp])
                    .expect("two distinct pages");
                dst[d..d + n].copy_from_slice(&src[so..so + n]);
            }
            self.release(l);
        }
        new.len = len;
        *l = new;
    }

    /// Removes the first `n` candidates of `l`.
    fn drop_front(&mut self, l: &mut List, n: usize) {
        if n == 0 {
            return;
        }
        let len = l.len as usize;
        match l.class {
            BIG => {
                self.big[l.at as usize].drain(..n);
            }
            _ => {
                self.chunk_mut(l).copy_within(n..len, 0);
            }
        }
        l.len = (len - n) as u32;
    }

    /// Hints that `l` will be appended to soon: the slot the candidate goes to, or
    /// when the chunk is full, the candidates [`grow`](Self::grow) copies and the
    /// chunk it will likely copy them to.
    #[inline]
    fn prefetch_tail(&self, l: &List) {
        let slot = |at: usize| {
            self.pages
                .get(at >> PAGE_BITS)
                .and_then(|p| p.get(at & (PAGE - 1)))
        };
        if l.class == EMPTY || l.class == BIG {
            return;
        }
        let (at, len) = (l.at as usize, l.len as usize);
        if len < l.cap() {
            slot(at + len).map(prefetch);
        } else {
            slot(at).map(prefetch);
            slot(at + len - 1).map(prefetch);
            let next = self.free.get(l.class as usize + 1).and_then(|f| f.last());
            next.and_then(|&at| slot(at as usize)).map(prefetch);
        }
    }
}

/// One thread's accesses to one variable, in order (all are candidates of a later
/// write, the writes among them of a later read).
#[derive(Debug)]
pub(super) struct ThreadCands {
    pub thread: u32,
    /// 1 + the position of the thread's last access and last write (0: none).
    end: [u32; 2],
    /// As an accessor: the variable's [`VarCands::pushes`] at which every other
    /// thread's candidates of kind 0 (all) / 1 (writes) were known dead for this thread
    /// for good (see [`VarCands::is_clean`]); [`NEVER`] when not.
    clean: [u32; 2],
    /// Candidates dropped from the front of the list so far (dead for every thread,
    /// see [`VarCands::drop_known`]): absolute candidate indices minus this are list
    /// indices, so pointers kept as absolute indices stay right.
    pub dropped: u32,
    list: List,
}

/// [`ThreadCands::clean`]: not known clean.
const NEVER: u32 = u32::MAX;

/// One variable's candidates: an entry per thread that accessed it, by thread id.
/// Most variables are accessed by one thread, whose entry is kept inline; with more,
/// the entries are sorted by thread id in a box, and once [`DENSE_FROM`] threads
/// accessed it, dense (`threads[u].thread == u`, empty entries for the others) so a
/// thread finds its entry without a search.
#[derive(Debug, Default)]
pub(super) struct VarCands {
    threads: Threads,
    /// Candidates pushed so far (saturating; at [`NEVER`] the clean marks are unused).
    pushes: u32,
}

#[derive(Debug, Default)]
enum Threads {
    #[default]
    None,
    One(ThreadCands),
    Many(Many),
}

/// The entries of a variable of several threads.
///
/// Layout: [`any_live`](VarCands::any_live) runs on most accesses and, on a variable of
/// many threads, only needs every thread's `end` of one kind; so once dense, `ends`
/// repeats them contiguously for the dense prefix of `n = ends.len() / 2` entries, all
/// kind-0 ends first, then all kind-1 ends (`ends[kind * n + i] == threads[i].end[kind]`,
/// `threads[i].thread == i` for `i < n`; empty while sparse): 4 bytes a thread to scan,
/// in a branch-free (vectorized) pass, instead of a 36-byte entry.
///
/// Both are boxed slices held in the variable's record (in the room of the inline
/// entry), not behind a box of their own: an access then reaches its entry and the
/// ends one load from the record, which the driver's second prefetch stage covers.
/// Growing them reallocates, which only happens as new threads arrive.
#[derive(Debug)]
struct Many {
    threads: Box<[ThreadCands]>,
    ends: Box<[u32]>,
}

/// Threads accessing a variable from which its [`VarCands`] turns dense.
const DENSE_FROM: usize = 8;

impl ThreadCands {
    fn new(thread: u32) -> Self {
        ThreadCands {
            thread,
            end: [0, 0],
            clean: [NEVER, NEVER],
            dropped: 0,
            list: List::NEW,
        }
    }

    /// The candidates kept, in order.
    #[inline]
    pub fn list<'a>(&self, pool: &'a Pool) -> &'a [Cand] {
        pool.slice(&self.list)
    }
}

impl Many {
    /// The index of thread `t`'s entry, created if new.
    #[inline]
    fn slot(&mut self, t: u32) -> usize {
        let u = t as usize;
        if self.threads.get(u).is_some_and(|tc| tc.thread == t) {
            return u;
        }
        match self.threads.binary_search_by_key(&t, |tc| tc.thread) {
            Ok(i) => i,
            Err(i) => {
                let n = self.threads.len() + 1;
                // Dense only while ids are not far sparser than the threads seen.
                if n >= DENSE_FROM && u < 4 * n {
                    // Room up to the next power of two (within the same bound), so that
                    // threads arriving in rising id order densify O(log) times, not
                    // once each.
                    self.densify(((u + 1).next_power_of_two() - 1).min(4 * n - 1));
                    return u;
                }
                let mut threads = std::mem::take(&mut self.threads).into_vec();
                threads.insert(i, ThreadCands::new(t));
                self.threads = threads.into_boxed_slice();
                // Past the dense prefix (its ids all exist): `ends` stays as it is.
                i
            }
        }
    }

    /// Makes `threads` dense up to thread id `max` (and its highest id).
    #[cold]
    fn densify(&mut self, max: usize) {
        let last = self.threads.last().map_or(0, |tc| tc.thread as usize);
        let mut old = std::mem::take(&mut self.threads)
            .into_vec()
            .into_iter()
            .peekable();
        let mut dense = Vec::with_capacity(max.max(last) + 1);
        for id in 0..=max.max(last) as u32 {
            match old.next_if(|tc| tc.thread == id) {
                Some(tc) => dense.push(tc),
                None => dense.push(ThreadCands::new(id)),
            }
        }
        self.ends = (0..2)
            .flat_map(|kind| dense.iter().map(move |tc| tc.end[kind]))
            .collect();
        self.threads = dense.into_boxed_slice();
    }
}

impl VarCands {
    /// The entries, by thread id.
    #[inline]
    pub fn threads(&self) -> &[ThreadCands] {
        match &self.threads {
            Threads::None => &[],
            Threads::One(tc) => std::slice::from_ref(tc),
            Threads::Many(m) => &m.threads,
        }
    }

    #[inline]
    fn threads_mut(&mut self) -> &mut [ThreadCands] {
        match &mut self.threads {
            Threads::None => &mut [],
            Threads::One(tc) => std::slice::from_mut(tc),
            Threads::Many(m) => &mut m.threads[..],
        }
    }

    /// The contiguous ends of the dense prefix (empty while sparse).
    #[inline]
    fn ends(&self) -> &[u32] {
        match &self.threads {
            Threads::Many(m) => &m.ends,
            _ => &[],
        }
    }

    /// The index of thread `t`'s entry, created if new.
    #[inline]
    fn slot(&mut self, t: u32) -> usize {
        match &mut self.threads {
            Threads::One(tc) if tc.thread == t => 0,
            Threads::Many(m) => m.slot(t),
            Threads::None => {
                self.threads = Threads::One(ThreadCands::new(t));
                0
            }
            Threads::One(_) => {
                let Threads::One(first) = std::mem::take(&mut self.threads) else {
                    unreachable!()
                };
                let mut m = Many {
                    threads: Box::new([first]),
                    ends: Box::default(),
                };
                let i = m.slot(t);
                self.threads = Threads::Many(m);
                i
            }
        }
    }

    /// The index of thread `t`'s entry, if it has one.
    #[inline]
    fn find(&self, t: u32) -> Option<usize> {
        let threads = self.threads();
        let u = t as usize;
        if threads.get(u).is_some_and(|tc| tc.thread == t) {
            return Some(u);
        }
        threads.binary_search_by_key(&t, |tc| tc.thread).ok()
    }

    /// Hints where an access of thread `t` goes (the second prefetch stage, once the
    /// variable's record is in cache): with one thread, the slot its next candidate
    /// takes (the entry is inline); with several, its entry (the first one when it has
    /// none yet), one load from the record.
    #[inline]
    pub fn prefetch(&self, t: u32, pool: &Pool) {
        match &self.threads {
            Threads::None => {}
            Threads::One(tc) => {
                if tc.thread == t {
                    pool.prefetch_tail(&tc.list);
                }
            }
            Threads::Many(m) => {
                if let Some(tc) = m.threads.get(t as usize).or(m.threads.first()) {
                    // Entries (36 bytes) are not line-aligned: 7 in 16 span two lines.
                    prefetch_whole(tc);
                }
            }
        }
    }

    /// Hints the dense ends of `kind` (0: write, 1: read) an access of that kind scans
    /// (see [`any_live`](Self::any_live)): one load from the record, several lines on a
    /// variable of many threads.
    #[inline]
    pub fn prefetch_ends(&self, kind: usize) {
        prefetch_slice(self.dense_ends(kind));
    }

    /// Whether every other thread's candidate of `kind` (0: all, for a write; 1:
    /// writes, for a read) is dead for thread `t` for good: `t` found so at an earlier
    /// access (see [`push`](Self::push)) and no other thread pushed one since.
    ///
    /// Sound because deadness for a thread only grows along the thread (its `K` and
    /// TRF timestamp only grow), and kind 0 covers kind 1.
    #[inline]
    fn is_clean(&self, t: u32, kind: usize) -> bool {
        if self.pushes == NEVER {
            return false;
        }
        self.find(t).is_some_and(|i| {
            let c = self.threads()[i].clean;
            c[0] == self.pushes || c[kind] == self.pushes
        })
    }

    /// Appends an access of thread `t` (after every earlier one of `t`). `clean`: the
    /// access found every other thread's candidate of its kind dead for good (its
    /// check returned no race), which [`any_live`](Self::any_live) then remembers
    /// until another thread pushes. Returns how many candidates `t` has kept here.
    #[inline]
    pub fn push(&mut self, pool: &mut Pool, t: u32, c: Cand, clean: bool) -> usize {
        let i = self.slot(t);
        let pushes = self.pushes;
        if pushes != NEVER {
            self.pushes += 1;
        }
        let mine = &mut self.threads_mut()[i];
        if clean {
            mine.clean[usize::from(!c.write())] = pushes;
        }
        if pushes != NEVER {
            // Own candidates never count against the thread itself.
            for m in &mut mine.clean {
                if *m == pushes {
                    *m = pushes + 1;
                }
            }
        }
        pool.push(&mut mine.list, c);
        mine.end[0] = c.pos + 1;
        if c.write() {
            mine.end[1] = c.pos + 1;
        }
        let (kept, end) = (mine.list.len as usize, mine.end);
        if let Threads::Many(m) = &mut self.threads {
            let n = m.ends.len() / 2;
            if i < n {
                m.ends[i] = end[0];
                m.ends[n + i] = end[1];
            }
        }
        kept
    }

    /// The dense prefix's ends of `kind` (empty while sparse).
    #[inline]
    fn dense_ends(&self, kind: usize) -> &[u32] {
        let ends = self.ends();
        let n = ends.len() / 2;
        &ends[kind * n..(kind + 1) * n]
    }

    /// Drops thread `t`'s candidates at positions below `known`, which every other
    /// thread's TRF timestamp, now and later, contains: dead for every later access
    /// (see [`super::SyncPEngine`]). Returns how many were dropped.
    pub fn drop_known(&mut self, pool: &mut Pool, t: u32, known: u32) -> usize {
        let Some(i) = self.find(t) else { return 0 };
        let tc = &mut self.threads_mut()[i];
        let n = tc.list(pool).partition_point(|c| c.pos < known);
        pool.drop_front(&mut tc.list, n);
        tc.dropped = tc.dropped.saturating_add(n as u32);
        n
    }

    /// 1 + the position of the last candidate of `kind` (0: any access, 1: writes) of
    /// the `i`-th entry (0: none).
    #[inline]
    pub fn end(&self, i: usize, kind: usize) -> u32 {
        match self.dense_ends(kind).get(i) {
            Some(&e) => e,
            None => self.threads()[i].end[kind],
        }
    }

    /// The first entry at or after `from` with a candidate of `kind` (0: any access, 1:
    /// writes) outside `k` (per-thread prefix lengths; missing entries are 0), if any.
    ///
    /// On a variable of many threads a sweep finds few such entries among many: the
    /// dense prefix is scanned 16 entries at a time without branches (vectorized).
    #[inline]
    pub fn next_outside(&self, from: usize, kind: usize, k: &[u32]) -> Option<usize> {
        const B: usize = 16;
        let ends = self.dense_ends(kind);
        let m = ends.len().min(k.len());
        let mut i = from;
        while i + B <= m {
            let mask = grown_mask(&k[i..i + B], &ends[i..i + B]);
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += B;
        }
        let threads = self.threads();
        (i..threads.len()).find(|&n| {
            let t1 = threads[n].thread as usize;
            self.end(n, kind) > k.get(t1).copied().unwrap_or(0)
        })
    }

    /// Whether some thread's last candidate of `kind` lies outside both `k` and `trf`
    /// (per-thread prefix lengths; missing entries are 0), for an access of thread `t`
    /// whose `k` and `trf` contain those of its earlier accesses.
    ///
    /// The accessing thread itself never counts: its candidates precede the access,
    /// which `trf` (its latest event's timestamp) covers. Nothing is looked at when
    /// `t` found every other candidate dead and no other thread pushed since.
    #[inline]
    pub fn any_live(&self, t: u32, kind: usize, k: &[u32], trf: &[u32]) -> bool {
        let known = |t1: usize| {
            let k = k.get(t1).copied().unwrap_or(0);
            k.max(trf.get(t1).copied().unwrap_or(0))
        };
        if self.is_clean(t, kind) {
            return false;
        }
        let ends = self.ends();
        if ends.is_empty() {
            return self
                .threads()
                .iter()
                .any(|tc| tc.end[kind] > known(tc.thread as usize));
        }
        // `ends` covers the dense prefix: entry `i` is thread `i`, so the arrays zip;
        // where all three are present, without a branch (vectorized).
        let n = ends.len() / 2;
        let ends = self.dense_ends(kind);
        let m = ends.len().min(k.len()).min(trf.len());
        let head = (ends[..m].iter().zip(&k[..m]).zip(&trf[..m]))
            .fold(false, |acc, ((&e, &k), &f)| acc | (e > k.max(f)));
        head || ends[m..].iter().zip(m..).any(|(&e, i)| e > known(i))
            || self.threads()[n..]
                .iter()
                .any(|tc| tc.end[kind] > known(tc.thread as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    #[test]
    fn var_cands_turn_dense_and_keep_every_thread() {
        let mut v = VarCands::default();
        let mut pool = Pool::default();
        let order = [9u32, 2, 30, 0, 5, 17, 3, 11, 40, 1, 2, 9, 64, 7];
        for (n, &t) in order.iter().enumerate() {
            let i = v.slot(t);
            assert_eq!(v.threads()[i].thread, t);
            let w = if n % 3 == 0 { WRITE_BIT } else { 0 };
            v.push(
                &mut pool,
                t,
                Cand {
                    pos: n as u32,
                    loc: 0,
                    index_w: n as u64 | w,
                },
                false,
            );
            // Sorted by thread id, each id once, and every access kept.
            assert!(v.threads().windows(2).all(|w| w[0].thread < w[1].thread));
            let kept: usize = v.threads().iter().map(|tc| tc.list(&pool).len()).sum();
            assert_eq!(kept, n + 1);
            // The contiguous ends mirror the dense prefix.
            for (i, tc) in v.threads().iter().enumerate() {
                assert_eq!([v.end(i, 0), v.end(i, 1)], tc.end);
            }
        }
        // Dense since DENSE_FROM threads: an entry at every id up to the highest (and
        // on to the next power of two).
        assert_eq!(v.threads().len(), 128);
        assert!(v
            .threads()
            .iter()
            .enumerate()
            .all(|(i, tc)| tc.thread as usize == i));
        // A far sparser id is inserted in order, without filling the gap.
        let i = v.slot(10_000);
        assert_eq!((i, v.threads().len()), (128, 129));
        assert_eq!(v.ends().len(), 2 * 128);
    }

    /// `any_live` and `next_outside` against the plain definitions, sparse and dense,
    /// with `k` and `trf` shorter than the thread range.
    #[test]
    fn any_live_matches_definition() {
        let mut rng = XorShift::new(0x51_7cc1_b727_220a);
        let mut next = move |n: u64| rng.below(n);
        for round in 0..200 {
            let threads = if round % 2 == 0 { 5 } else { 40 };
            let mut v = VarCands::default();
            let mut pool = Pool::default();
            for n in 0..next(60) {
                let t = next(threads) as u32;
                let w = if next(2) == 0 { WRITE_BIT } else { 0 };
                let pos = n as u32 * 3;
                v.push(
                    &mut pool,
                    t,
                    Cand {
                        pos,
                        loc: 0,
                        index_w: n | w,
                    },
                    false,
                );
            }
            let k: Vec<u32> = (0..next(threads)).map(|_| next(200) as u32).collect();
            let trf: Vec<u32> = (0..next(threads)).map(|_| next(200) as u32).collect();
            let at = |s: &[u32], i: usize| s.get(i).copied().unwrap_or(0);
            for kind in 0..2 {
                let want = v.threads().iter().any(|tc| {
                    let t = tc.thread as usize;
                    tc.list(&pool)
                        .iter()
                        .filter(|c| kind == 0 || c.write())
                        .any(|c| c.pos + 1 > at(&k, t).max(at(&trf, t)))
                });
                assert_eq!(v.any_live(0, kind, &k, &trf), want, "round {round}");
                // The entries `next_outside` visits: those with an end beyond `k`.
                let want: Vec<usize> = (0..v.threads().len())
                    .filter(|&n| v.end(n, kind) > at(&k, v.threads()[n].thread as usize))
                    .collect();
                let got: Vec<usize> = std::iter::successors(v.next_outside(0, kind, &k), |&n| {
                    v.next_outside(n + 1, kind, &k)
                })
                .collect();
                assert_eq!(got, want, "round {round}");
            }
        }
    }

    /// `any_live` against the plain definition when threads mark themselves clean, as
    /// the engine does: each thread's `k` and `trf` only grow, and an access that
    /// finds nothing live pushes with its mark; sparse and dense.
    #[test]
    fn any_live_with_clean_marks_matches_definition() {
        let mut rng = XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = move |n: u64| rng.below(n);
        for round in 0..300 {
            let threads = [3u64, 12, 64][round % 3];
            let mut v = VarCands::default();
            let mut pool = Pool::default();
            let mut pos = vec![0u32; threads as usize];
            let mut k = vec![vec![0u32; threads as usize]; threads as usize];
            let mut trf = k.clone();
            // Every thread first (so the many turn dense), then mostly a few threads
            // at a time, so that marks often still hold.
            let active = 2 + next(3);
            for n in 0..threads + next(400) {
                let t = if n < threads {
                    n
                } else {
                    next(active.min(threads))
                } as usize;
                // Knowledge of the others grows now and then, at times up to all
                // of an active thread's events (so that accesses find nothing live).
                if next(2) == 0 {
                    let u = next(threads) as usize;
                    let mut g = |x: &mut u32, max: u32| *x = (*x + next(3) as u32).min(max);
                    g(&mut k[t][u], pos[u]);
                    g(&mut trf[t][u], pos[u]);
                    let u = next(active.min(threads)) as usize;
                    k[t][u] = k[t][u].max(pos[u] - next(2) as u32 * pos[u].min(1));
                }
                trf[t][t] = pos[t];
                let kind = next(2) as usize;
                let want = v.threads().iter().any(|tc| {
                    let u = tc.thread as usize;
                    u != t
                        && tc
                            .list(&pool)
                            .iter()
                            .filter(|c| kind == 0 || c.write())
                            .any(|c| c.pos + 1 > k[t][u].max(trf[t][u]))
                });
                let got = v.any_live(t as u32, kind, &k[t], &trf[t]);
                assert_eq!(got, want, "round {round}");
                let w = if kind == 0 { WRITE_BIT } else { 0 };
                let c = Cand {
                    pos: pos[t],
                    loc: 0,
                    index_w: w,
                };
                v.push(&mut pool, t as u32, c, !want);
                pos[t] += 1;
            }
        }
    }

    /// Dropping a known prefix keeps the rest and counts what went; `push` reports
    /// what is kept.
    #[test]
    fn drop_known_removes_a_prefix_and_counts_it() {
        let c = |pos: u32| Cand {
            pos,
            loc: 0,
            index_w: u64::from(pos),
        };
        let mut v = VarCands::default();
        let mut pool = Pool::default();
        for pos in [2, 5, 9] {
            v.push(&mut pool, 3, c(pos), false);
        }
        assert_eq!(v.push(&mut pool, 4, c(1), false), 1);
        assert_eq!(v.drop_known(&mut pool, 3, 6), 2);
        assert_eq!(v.drop_known(&mut pool, 7, 100), 0, "no entry");
        let i = v.find(3).unwrap();
        assert_eq!(
            v.threads()[i]
                .list(&pool)
                .iter()
                .map(|c| c.pos)
                .collect::<Vec<_>>(),
            [9]
        );
        assert_eq!(v.threads()[i].dropped, 2);
        assert_eq!(
            [v.end(i, 0), v.end(i, 1)],
            [10, 0],
            "ends are the last accesses"
        );
        assert_eq!(v.push(&mut pool, 3, c(12), false), 2);
        assert_eq!(v.drop_known(&mut pool, 3, 100), 2);
        assert_eq!(v.threads()[i].dropped, 4);
    }

    /// Pool lists against plain vectors: pushes through every chunk class into their
    /// own vectors, prefix drops, and chunks recycled between lists.
    #[test]
    fn pool_lists_keep_their_candidates() {
        let mut rng = XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = move |n: u64| rng.below(n);
        let mut pool = Pool::default();
        let mut lists = vec![List::NEW; 64];
        let mut want: Vec<Vec<u32>> = vec![Vec::new(); 64];
        for n in 0..60_000u32 {
            // A few lists grow long (past the largest chunk), most stay short.
            let i = if next(4) == 0 { next(4) } else { next(64) } as usize;
            if next(3000) == 0 {
                let k = next(want[i].len() as u64 + 1) as usize;
                pool.drop_front(&mut lists[i], k);
                want[i].drain(..k);
            } else if next(5000) == 0 {
                pool.release(&mut lists[i]);
                want[i].clear();
            } else {
                let c = Cand {
                    pos: n,
                    loc: 0,
                    index_w: u64::from(n),
                };
                pool.push(&mut lists[i], c);
                want[i].push(n);
            }
            if n % 997 == 0 {
                for (l, w) in lists.iter().zip(&want) {
                    let got: Vec<u32> = pool.slice(l).iter().map(|c| c.pos).collect();
                    assert_eq!(&got, w);
                }
            }
        }
        assert!(
            lists.iter().any(|l| l.class == BIG),
            "some list outgrew chunks"
        );
        assert!(pool.pages.len() > 1, "several pages");
    }

    /// The clean mark: remembered for the marking thread across its own pushes,
    /// dropped by another thread's push, and a read's mark does not cover writes.
    #[test]
    fn clean_marks_last_until_another_thread_pushes() {
        let c = |pos: u32, write: bool| Cand {
            pos,
            loc: 0,
            index_w: u64::from(pos) | if write { WRITE_BIT } else { 0 },
        };
        let mut v = VarCands::default();
        let mut pool = Pool::default();
        assert!(!v.is_clean(1, 0), "no entry yet");
        v.push(&mut pool, 1, c(0, false), true);
        assert!(
            v.is_clean(1, 1) && !v.is_clean(1, 0),
            "a read marks reads only"
        );
        v.push(&mut pool, 1, c(1, false), false);
        assert!(v.is_clean(1, 1), "own pushes keep the mark");
        v.push(&mut pool, 1, c(2, true), true);
        assert!(
            v.is_clean(1, 0) && v.is_clean(1, 1),
            "a write marks both kinds"
        );
        assert!(!v.is_clean(2, 0));
        v.push(&mut pool, 2, c(0, false), true);
        assert!(
            !v.is_clean(1, 0) && !v.is_clean(1, 1),
            "another thread pushed"
        );
        assert!(v.is_clean(2, 1));
    }
}
