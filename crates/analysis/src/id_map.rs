//! A map from trace ids (variables, locks) to per-id state: a dense `Vec` for the small
//! ids traces use, a hash map for the rare huge ones so a stray id cannot allocate
//! gigabytes.

use rustc_hash::FxHashMap;

/// Ids below this are stored densely.
const DENSE_LIMIT: u64 = 1 << 24;

/// Per-id state, created on first use with `T::default()`.
#[derive(Debug, Clone)]
pub struct IdMap<T> {
    dense: Vec<T>,
    sparse: FxHashMap<u64, T>,
}

impl<T> Default for IdMap<T> {
    fn default() -> Self {
        IdMap {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
        }
    }
}

impl<T: Default> IdMap<T> {
    /// The state of `id`, created if new.
    #[inline]
    pub fn entry(&mut self, id: u64) -> &mut T {
        if id < DENSE_LIMIT {
            let i = id as usize;
            if i >= self.dense.len() {
                self.dense.resize_with(i + 1, T::default);
            }
            &mut self.dense[i]
        } else {
            self.sparse.entry(id).or_default()
        }
    }

    /// The state of `id` if it was ever created.
    #[inline]
    pub fn get(&self, id: u64) -> Option<&T> {
        if id < DENSE_LIMIT {
            self.dense.get(id as usize)
        } else {
            self.sparse.get(&id)
        }
    }

    /// Every (id, state) pair ever created (dense ones include defaults in gaps).
    pub fn iter(&self) -> impl Iterator<Item = (u64, &T)> {
        self.dense
            .iter()
            .enumerate()
            .map(|(i, t)| (i as u64, t))
            .chain(self.sparse.iter().map(|(&k, v)| (k, v)))
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
        assert_eq!(m.dense.len(), 4, "huge id did not grow the dense part");
        assert_eq!(m.iter().map(|(_, v)| *v).sum::<u32>(), 12);
    }
}
