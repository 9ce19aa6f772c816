//! Lock ids: every synchronization object the trace mentions, numbered densely in
//! first-use order. Objects of different kinds at one address are different locks.

use rustc_hash::FxHashMap;

/// What a lock of the trace stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockKind {
    /// The synchronization of an address's atomics (and its wait/notify): every atomic
    /// access is an acquire + release of it.
    Atomic,
    /// A lock inferred from atomics on a word (cmpxchg 0 → non-zero acquires, a store
    /// or exchange of 0 by the holder releases).
    Inferred,
    /// A mutex announced by the wasm_threadlink lock-tracing hooks.
    Mutex,
    /// `atomic.fence`: one lock for the whole program.
    Fence,
}

impl LockKind {
    /// Lower-case name, as in the metadata.
    pub fn name(self) -> &'static str {
        match self {
            LockKind::Atomic => "atomic",
            LockKind::Inferred => "inferred",
            LockKind::Mutex => "mutex",
            LockKind::Fence => "fence",
        }
    }
}

/// A lock: its kind and address (0 for the fence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LockKey {
    /// What kind of object.
    pub kind: LockKind,
    /// Its address in linear memory.
    pub address: u64,
}

impl LockKey {
    /// The atomic-synchronization lock of `address`.
    pub const fn atomic(address: u64) -> Self {
        LockKey {
            kind: LockKind::Atomic,
            address,
        }
    }

    /// The lock inferred at `address`.
    pub const fn inferred(address: u64) -> Self {
        LockKey {
            kind: LockKind::Inferred,
            address,
        }
    }

    /// The threadlink mutex at `address`.
    pub const fn mutex(address: u64) -> Self {
        LockKey {
            kind: LockKind::Mutex,
            address,
        }
    }

    /// The program's one fence lock.
    pub const FENCE: LockKey = LockKey {
        kind: LockKind::Fence,
        address: 0,
    };

    /// A short human name: `atomic@0x110a40`, `fence`.
    pub fn label(&self) -> String {
        match self.kind {
            LockKind::Fence => "fence".to_owned(),
            kind => format!("{}@{:#x}", kind.name(), self.address),
        }
    }
}

/// The lock table of one trace.
#[derive(Debug, Default)]
pub struct LockIds {
    ids: FxHashMap<LockKey, u64>,
    keys: Vec<LockKey>,
}

impl LockIds {
    /// The id of `key`, assigning the next id when new.
    #[inline]
    pub fn id(&mut self, key: LockKey) -> u64 {
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.keys.len() as u64;
        self.ids.insert(key, id);
        self.keys.push(key);
        id
    }

    /// `keys()[id]` = what lock `id` is.
    pub fn keys(&self) -> &[LockKey] {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_at_one_address_are_distinct_dense_ids() {
        let mut l = LockIds::default();
        assert_eq!(l.id(LockKey::atomic(0x40)), 0);
        assert_eq!(l.id(LockKey::inferred(0x40)), 1);
        assert_eq!(l.id(LockKey::mutex(0x40)), 2);
        assert_eq!(l.id(LockKey::FENCE), 3);
        assert_eq!(l.id(LockKey::atomic(0x40)), 0);
        assert_eq!(l.id(LockKey::atomic(0x44)), 4);
        assert_eq!(l.keys()[1], LockKey::inferred(0x40));
        assert_eq!(l.keys()[1].label(), "inferred@0x40");
        assert_eq!(l.keys()[3].label(), "fence");
    }
}
