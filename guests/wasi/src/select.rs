//! A model of crossbeam-channel's select context (`Context::select`): 0 while the
//! context's owner waits; whoever decides its operation claims it once with a
//! compare-exchange 0 → non-zero (the owner aborting its wait, or a peer selecting
//! it), and the owner resets it to 0 for its next operation. A lock's shape, and no
//! lock: the guests that use it must not be reported.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The owner waits; the context can be claimed.
pub const WAITING: usize = 0;
/// Claimed by its owner, which gave up waiting.
pub const ABORTED: usize = 1;
/// Claimed by a peer for its operation.
pub const SELECTED: usize = 2;

/// One select context.
pub struct SelectContext(AtomicUsize);

impl SelectContext {
    /// A waiting context.
    pub const fn new() -> Self {
        SelectContext(AtomicUsize::new(WAITING))
    }

    /// Claims the context for `how` if it is still waiting (`Context::try_select`).
    #[inline(never)]
    pub fn try_select(&self, how: usize) -> bool {
        self.0
            .compare_exchange(WAITING, how, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Makes the context waiting again for the next operation (`Context::reset`).
    #[inline(never)]
    pub fn reset(&self) {
        self.0.store(WAITING, Ordering::Release);
    }

    /// Who claimed it, or [`WAITING`].
    pub fn state(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

impl Default for SelectContext {
    fn default() -> Self {
        Self::new()
    }
}
