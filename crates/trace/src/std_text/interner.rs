//! Interning STD tokens (thread, lock and variable names) into dense ids in first-seen
//! order, without touching the heap for the spellings traces use most.
//!
//! Three stores, chosen by a token's spelling alone, except as noted for `numbered`:
//! - `numbered`: one ASCII letter and a canonical decimal (`V123`, `T0`, `L5`, as our
//!   own writer spells ids): per letter, a dense table indexed by the number. One 4-byte slot per number, so a lookup is one cache line, no hashing.
//!   The table only grows while it stays dense (see [`DENSITY`]); a numbered token
//!   that did not fit when first seen lives in `short` instead, and a table miss
//!   checks there before assigning a new id, so every spelling keeps one id.
//! - `short`: other tokens up to 15 bytes, packed with their length into a `u128` key,
//!   so the lookup compares integers instead of following a pointer to the bytes.
//! - `long`: anything longer, keyed by the bytes.

use rustc_hash::FxHashMap;

/// A table may cover numbers up to `DENSITY` × the names it holds (+ [`SLACK`]), so
/// it costs at most `4 × DENSITY` bytes per name whatever numbers a trace uses.
const DENSITY: usize = 16;
/// Numbers a table may cover before it holds anything.
const SLACK: usize = 1 << 16;
/// Longest token packed into a `short` key (the 16th byte holds the length).
const SHORT_MAX: usize = 15;

/// Dense ids for the tokens of one id space.
#[derive(Debug, Default)]
pub(super) struct Interner {
    /// Per letter: `table[n]` = id + 1 of the token `<letter><n>`, 0 when not there.
    numbered: Vec<(u8, Vec<u32>)>,
    /// Names held by the `numbered` tables.
    numbered_count: usize,
    /// Numbered tokens held by `short` because their table could not cover them yet;
    /// while 0, a table miss is a new name without a hash lookup.
    spilled: usize,
    /// `numbered_count` at which spilled tokens are next moved into the tables
    /// (doubling, so the moves cost O(1) per name overall).
    next_unspill: usize,
    short: FxHashMap<u128, u32>,
    long: FxHashMap<Box<[u8]>, u32>,
}

impl Interner {
    /// The id of `token`, assigning `names.len()` and recording the name when new.
    #[inline]
    pub(super) fn intern(&mut self, token: &[u8], names: &mut Vec<String>) -> u32 {
        if let Some((letter, n)) = numbered(token) {
            return self.intern_numbered(token, letter, n, names);
        }
        if let Some(key) = pack(token) {
            return *self
                .short
                .entry(key)
                .or_insert_with(|| new_name(token, names));
        }
        if let Some(&id) = self.long.get(token) {
            return id;
        }
        let id = new_name(token, names);
        self.long.insert(token.into(), id);
        id
    }

    /// Hints the cache about the table slot `token` will be looked up in, if any.
    #[inline]
    pub(super) fn prefetch(&self, token: &[u8]) {
        if let Some((letter, n)) = numbered(token) {
            if let Some((_, table)) = self.numbered.iter().find(|(l, _)| *l == letter) {
                if let Some(slot) = table.get(n) {
                    prefetch(slot);
                }
            }
        }
    }

    #[inline]
    fn intern_numbered(
        &mut self,
        token: &[u8],
        letter: u8,
        n: usize,
        names: &mut Vec<String>,
    ) -> u32 {
        let t = match self.numbered.iter().position(|(l, _)| *l == letter) {
            Some(t) => t,
            None => {
                self.numbered.push((letter, Vec::new()));
                self.numbered.len() - 1
            }
        };
        if let Some(&slot) = self.numbered[t].1.get(n) {
            if slot != 0 {
                return slot - 1;
            }
        }
        // Numbered tokens are at most 10 bytes, so they always pack.
        let key = pack(token).expect("numbered tokens are short");
        if self.spilled > 0 {
            if let Some(&id) = self.short.get(&key) {
                // Move it into the table once the table may cover it.
                if self.fits(t, n) {
                    self.short.remove(&key);
                    self.spilled -= 1;
                    self.put(t, n, id);
                }
                return id;
            }
        }
        let id = new_name(token, names);
        if self.fits(t, n) {
            self.put(t, n, id);
        } else {
            self.short.insert(key, id);
            self.spilled += 1;
        }
        id
    }

    /// Whether table `t` may cover number `n` and stay dense.
    #[inline]
    fn fits(&self, t: usize, n: usize) -> bool {
        n < self.numbered[t].1.len() || n < DENSITY * self.numbered_count + SLACK
    }

    /// Records `id` for number `n` in table `t` (which [`fits`](Self::fits) it).
    #[inline]
    fn put(&mut self, t: usize, n: usize, id: u32) {
        let table = &mut self.numbered[t].1;
        if n >= table.len() {
            table.resize(n + 1, 0);
        }
        table[n] = id + 1;
        self.numbered_count += 1;
        if self.spilled > 0 && self.numbered_count >= self.next_unspill {
            self.unspill();
        }
    }

    /// Moves every spilled token its table may now cover from `short` to the table.
    #[cold]
    fn unspill(&mut self) {
        self.next_unspill = 2 * self.numbered_count;
        let mut moved = Vec::new();
        let limit = DENSITY * self.numbered_count + SLACK;
        self.short.retain(|&key, &mut id| {
            let bytes = key.to_le_bytes();
            let token = &bytes[..usize::from(bytes[15])];
            match numbered(token) {
                Some((letter, n)) if n < limit => {
                    moved.push((letter, n, id));
                    false
                }
                _ => true,
            }
        });
        for (letter, n, id) in moved {
            let t = self
                .numbered
                .iter()
                .position(|(l, _)| *l == letter)
                .expect("a spilled token's table exists");
            let table = &mut self.numbered[t].1;
            if n >= table.len() {
                table.resize(n + 1, 0);
            }
            table[n] = id + 1;
            self.spilled -= 1;
            self.numbered_count += 1;
        }
    }
}

/// Asks the CPU to bring the cache line holding `x` into L1 (a hint: never faults,
/// no effect on program semantics). A no-op on targets without a stable prefetch.
#[inline(always)]
fn prefetch<T>(x: &T) {
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

/// Records `token` as the next name and returns its id.
#[inline]
fn new_name(token: &[u8], names: &mut Vec<String>) -> u32 {
    let id = names.len() as u32;
    names.push(String::from_utf8_lossy(token).into_owned());
    id
}

/// `(letter, n)` for a token spelled as one ASCII letter and `n` in canonical decimal
/// (no sign, no leading zero) below 10⁹.
#[inline]
fn numbered(token: &[u8]) -> Option<(u8, usize)> {
    let (&letter, digits) = token.split_first()?;
    if !letter.is_ascii_alphabetic()
        || digits.is_empty()
        || digits.len() > 9
        || (digits[0] == b'0' && digits.len() > 1)
    {
        return None;
    }
    let mut n = 0usize;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(d - b'0');
    }
    Some((letter, n))
}

/// A token of at most [`SHORT_MAX`] bytes as one integer: its bytes, then zeros, and
/// its length in the last byte (so `a` and `a\0` differ).
#[inline]
fn pack(token: &[u8]) -> Option<u128> {
    if token.len() > SHORT_MAX {
        return None;
    }
    let mut b = [0u8; 16];
    b[..token.len()].copy_from_slice(token);
    b[15] = token.len() as u8;
    Some(u128::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_gets_one_dense_id_in_first_seen_order() {
        let mut i = Interner::default();
        let mut names = Vec::new();
        let tokens: [&[u8]; 12] = [
            b"V5",
            b"x",
            b"V05",
            b"V5",
            b"W5",
            b"a\0",
            b"a",
            b"V234.23[0]",
            b"a-rather-long-variable-name",
            b"x",
            b"a-rather-long-variable-name",
            b"V0",
        ];
        let ids: Vec<u32> = tokens.iter().map(|t| i.intern(t, &mut names)).collect();
        assert_eq!(ids, vec![0, 1, 2, 0, 3, 4, 5, 6, 7, 1, 7, 8]);
        assert_eq!(names.len(), 9);
        assert_eq!(names[2], "V05");
        assert_eq!(names[7], "a-rather-long-variable-name");
    }

    #[test]
    fn huge_numbers_do_not_grow_tables_and_keep_their_ids() {
        let mut i = Interner::default();
        let mut names = Vec::new();
        let big = b"V2000000";
        assert_eq!(i.intern(big, &mut names), 0);
        assert!(i.numbered[0].1.len() <= SLACK, "table stayed small");
        // Fill the table until it may cover much larger numbers: the early huge token
        // must still map to its first id, not a fresh one.
        for n in 0..70_000u32 {
            i.intern(format!("V{n}").as_bytes(), &mut names);
        }
        assert_eq!(i.intern(big, &mut names), 0);
        assert_eq!(i.intern(b"V69999", &mut names), 70_000);
        assert_eq!(names.len(), 70_001);
        assert_eq!(i.spilled, 1, "still too far out for the table");
        for n in 70_000..200_000u32 {
            i.intern(format!("V{n}").as_bytes(), &mut names);
        }
        // Now the table covers it: it moved there (when the table doubled), keeping its id.
        assert_eq!(i.spilled, 0);
        assert!(i.short.is_empty());
        assert_eq!(i.intern(big, &mut names), 0);
        assert_eq!(i.intern(big, &mut names), 0);
        assert_eq!(names.len(), 200_001);
    }

    #[test]
    fn numbered_spelling_rules() {
        assert_eq!(numbered(b"T0"), Some((b'T', 0)));
        assert_eq!(numbered(b"L123456789"), Some((b'L', 123_456_789)));
        assert_eq!(numbered(b"L1234567890"), None);
        assert_eq!(numbered(b"L01"), None);
        assert_eq!(numbered(b"L"), None);
        assert_eq!(numbered(b"5"), None);
        assert_eq!(numbered(b"V1.2"), None);
        assert_ne!(pack(b"a"), pack(b"a\0"));
        assert_eq!(pack(&[b'z'; 16]), None);
    }
}
