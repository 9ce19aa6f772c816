//! State kept per address in a fixed number of independently locked shards: threads
//! working on different addresses rarely meet on one lock, and no shard shares a cache
//! line with another.

use crate::{SpinMutex, SpinMutexGuard};

/// The shard of `addr` among `shards` (a power of two, at least 2). Aligned words spread
/// evenly: the two low bits, zero for most words, are dropped, then Fibonacci hashing
/// takes the top bits of the product.
#[inline]
pub fn shard_index(addr: u64, shards: usize) -> usize {
    debug_assert!(shards.is_power_of_two() && shards >= 2);
    ((addr >> 2).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - shards.trailing_zeros())) as usize
}

/// A `T` per shard of the address space, each behind its own [`SpinMutex`].
pub struct AddrShards<T> {
    shards: Box<[Padded<T>]>,
}

/// One shard on cache lines of its own.
#[repr(align(64))]
struct Padded<T>(SpinMutex<T>);

impl<T: Default> AddrShards<T> {
    /// `shards` (a power of two, at least 2) empty shards.
    pub fn new(shards: usize) -> Self {
        assert!(shards.is_power_of_two() && shards >= 2, "{shards} shards");
        AddrShards {
            shards: (0..shards).map(|_| Padded(SpinMutex::default())).collect(),
        }
    }
}

impl<T> AddrShards<T> {
    /// The shard holding `addr`'s state, locked.
    #[inline]
    pub fn lock(&self, addr: u64) -> SpinMutexGuard<'_, T> {
        self.shards[shard_index(addr, self.shards.len())].0.lock()
    }

    /// Every shard, in turn (each locked while `f` runs on it).
    pub fn for_each(&self, mut f: impl FnMut(&mut T)) {
        for shard in self.shards.iter() {
            f(&mut shard.0.lock());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_words_spread_and_addresses_keep_their_shard() {
        let distinct: std::collections::HashSet<usize> = (0..256u64)
            .map(|i| shard_index(0x1000 + 4 * i, 1024))
            .collect();
        assert!(distinct.len() > 200, "{}", distinct.len());
        assert!((0..4096u64).all(|a| shard_index(a * 4, 64) < 64));
        let shards: AddrShards<Vec<u64>> = AddrShards::new(64);
        for a in [8u64, 16, 8, 1 << 40] {
            shards.lock(a).push(a);
        }
        assert_eq!(*shards.lock(8), [8, 8]);
        let mut all = Vec::new();
        shards.for_each(|s| all.extend_from_slice(s));
        all.sort_unstable();
        assert_eq!(all, [8, 8, 16, 1 << 40]);
    }

    #[test]
    #[should_panic(expected = "3 shards")]
    fn the_shard_count_is_a_power_of_two() {
        let _ = AddrShards::<()>::new(3);
    }
}
