//! A map from trace ids (variables, locks) to per-id state: dense pages for the small
//! ids traces use, a hash map for the rare huge ones so a stray id cannot allocate
//! gigabytes.
//!
//! Layout: the dense part is a list of fixed-size pages rather than one `Vec`, so
//! growing to millions of ids never copies what is there (a `Vec` would reallocate and
//! move everything, holding old and new buffers at once: twice the memory at the peak).
//! Invariant: every page but the last holds exactly `PAGE` entries, so id `i` lives
//! at `pages[i / PAGE][i % PAGE]`; the last page grows like a `Vec` up to `PAGE`, so a
//! map of a few ids stays small.

use rustc_hash::FxHashMap;

/// Ids below this are stored densely.
const DENSE_LIMIT: u64 = 1 << 24;

/// Entries per dense page (a power of two).
const PAGE_BITS: u32 = 12;
const PAGE: usize = 1 << PAGE_BITS;

/// Per-id state, created on first use with `T::default()`.
#[derive(Debug, Clone)]
pub struct IdMap<T> {
    pages: Vec<Vec<T>>,
    /// Dense entries created: ids below it exist (one compare on the hot path).
    len: usize,
    sparse: FxHashMap<u64, T>,
}

impl<T> Default for IdMap<T> {
    fn default() -> Self {
        IdMap {
            pages: Vec::new(),
            len: 0,
            sparse: FxHashMap::default(),
        }
    }
}

/// Page and offset of a dense id.
#[inline]
fn split(id: u64) -> (usize, usize) {
    let i = id as usize;
    (i >> PAGE_BITS, i & (PAGE - 1))
}

impl<T: Default> IdMap<T> {
    /// The state of `id`, created if new.
    #[inline]
    pub fn entry(&mut self, id: u64) -> &mut T {
        if id < DENSE_LIMIT {
            let (p, o) = split(id);
            if id as usize >= self.len {
                self.grow(p, o);
            }
            &mut self.pages[p][o]
        } else {
            self.sparse.entry(id).or_default()
        }
    }

    /// Makes `pages[p][o]` exist (with defaults in every gap before it).
    #[cold]
    fn grow(&mut self, p: usize, o: usize) {
        while self.pages.len() <= p {
            if let Some(last) = self.pages.last_mut() {
                fill(last, PAGE);
            }
            self.pages.push(Vec::new());
        }
        fill(&mut self.pages[p], o + 1);
        self.len = p * PAGE + self.pages[p].len();
    }

    /// The state of `id` if it was ever created.
    #[inline]
    pub fn get(&self, id: u64) -> Option<&T> {
        if id < DENSE_LIMIT {
            let (p, o) = split(id);
            self.pages.get(p)?.get(o)
        } else {
            self.sparse.get(&id)
        }
    }

    /// Hints the CPU to fetch the state of `id` into cache, so a later [`entry`](Self::entry)
    /// does not stall on memory. Does nothing for ids not stored densely yet.
    #[inline]
    pub fn prefetch(&self, id: u64) {
        if id < DENSE_LIMIT {
            if let Some(x) = self.get(id) {
                prefetch(x);
            }
        }
    }

    /// Bytes of the dense entries created so far (the part that grows with the ids a
    /// trace uses; heap data the entries own is not counted).
    pub fn bytes(&self) -> usize {
        self.len * std::mem::size_of::<T>()
    }

    /// Every (id, state) pair ever created (dense ones include defaults in gaps).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.pages
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| (i as u64, t))
            .chain(self.sparse.iter().map(|(&k, v)| (k, v)))
    }
}

/// Grows `page` to at least `len` entries (at most [`PAGE`]), never reserving past a
/// full page.
fn fill<T: Default>(page: &mut Vec<T>, len: usize) {
    if page.len() >= len {
        return;
    }
    if len > page.capacity() && len > PAGE / 2 {
        page.reserve_exact(PAGE - page.len());
    }
    page.resize_with(len, T::default);
}

/// [`prefetch`]es every cache line of `s`.
#[inline]
pub fn prefetch_slice<T>(s: &[T]) {
    let line = (64 / std::mem::size_of::<T>().max(1)).max(1);
    s.iter().step_by(line).for_each(prefetch);
}

/// Asks the CPU to bring the cache line holding `x` into L1 (a hint: never faults,
/// no effect on program semantics). A no-op on targets without a stable prefetch.
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 CPU has (it is part of
        // the target's baseline); a prefetch is only a hint and never dereferences.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const T).cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// [`prefetch`]es both the first and the last byte of `x` (at most a cache line, but
/// not necessarily within one: an array entry whose size does not divide 64 may span
/// two).
#[inline(always)]
pub fn prefetch_whole<T>(x: &T) {
    debug_assert!(std::mem::size_of::<T>() <= 64);
    prefetch(x);
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let last = (x as *const T)
            .cast::<i8>()
            .wrapping_add(std::mem::size_of::<T>().max(1) - 1);
        // SAFETY: as in `prefetch`; `last` is the last byte of `x` (a prefetch does not
        // dereference it anyway).
        unsafe { _mm_prefetch::<_MM_HINT_T0>(last) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids() {
        let mut m: IdMap<u32> = IdMap::default();
        *m.entry(3) += 5;
        *m.entry(1 << 40) += 7;
        assert_eq!(m.get(3), Some(&5));
        assert_eq!(m.get(2), Some(&0));
        assert_eq!(m.get(9), None);
        assert_eq!(m.get(1 << 40), Some(&7));
        assert_eq!(m.pages.len(), 1, "huge id did not grow the dense part");
        assert_eq!(m.pages[0].len(), 4);
        assert_eq!(m.iter().map(|(_, v)| *v).sum::<u32>(), 12);
    }

    #[test]
    fn pages_fill_in_order_and_keep_ids() {
        let mut m: IdMap<u64> = IdMap::default();
        let ids = [
            5u64,
            3 * PAGE as u64 + 7,
            PAGE as u64,
            2,
            3 * PAGE as u64 + 9,
        ];
        for &id in &ids {
            *m.entry(id) = id + 1;
        }
        for &id in &ids {
            assert_eq!(m.get(id), Some(&(id + 1)));
        }
        // Every page but the last is full and exactly one page large.
        assert_eq!(m.pages.len(), 4);
        assert!(m.pages[..3]
            .iter()
            .all(|p| p.len() == PAGE && p.capacity() == PAGE));
        assert_eq!(m.pages[3].len(), 10);
        assert_eq!(m.bytes(), (3 * PAGE + 10) * 8);
        // Gaps read as defaults; past the end is absent.
        assert_eq!(m.get(PAGE as u64 + 1), Some(&0));
        assert_eq!(m.get(3 * PAGE as u64 + 10), None);
        let listed: Vec<(u64, u64)> = m
            .iter()
            .filter(|(_, v)| **v != 0)
            .map(|(k, v)| (k, *v))
            .collect();
        let mut want: Vec<(u64, u64)> = ids.iter().map(|&id| (id, id + 1)).collect();
        want.sort_unstable();
        assert_eq!(listed, want);
    }
}
