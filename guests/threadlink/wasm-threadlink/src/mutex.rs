//! A mutex on `memory.atomic.wait32`/`notify`, optionally reporting lock events to the host.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicI32, Ordering};

#[cfg(feature = "tracing")]
use crate::ffi;

/// Lock word states.
const UNLOCKED: i32 = 0;
const LOCKED: i32 = 1;
/// Locked, and some thread may be sleeping in `wait32`: unlock must notify.
const CONTENDED: i32 = 2;

/// A mutual-exclusion lock whose address (the address of the lock word, its first field)
/// is what the tracing hooks report.
#[repr(C)]
pub struct Mutex<T> {
    state: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: the lock serializes every access to `data`, so sharing the mutex only requires
// that `T` may move between threads.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: owning the mutex owns `T`.
unsafe impl<T: Send> Send for Mutex<T> {}

/// Proof of holding a [`Mutex`]; unlocks on drop.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Self {
        Mutex {
            state: AtomicI32::new(UNLOCKED),
            data: UnsafeCell::new(value),
        }
    }

    /// The address the tracing hooks report for this mutex.
    pub fn addr(&self) -> *const u8 {
        (&self.state as *const AtomicI32).cast()
    }

    /// Blocks until the lock is held.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(feature = "tracing")]
        // SAFETY: the hook only receives an address; it has no preconditions.
        unsafe {
            ffi::start_lock(self.addr())
        };
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        #[cfg(feature = "tracing")]
        // SAFETY: as above.
        unsafe {
            ffi::finish_lock(self.addr())
        };
        MutexGuard { mutex: self }
    }

    /// Slow path: mark the lock contended and sleep until an unlock wakes us.
    #[cold]
    fn lock_contended(&self) {
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            // SAFETY: `state` is a live, aligned i32 in shared linear memory; wait32 only
            // compares it with CONTENDED and sleeps (no timeout).
            unsafe {
                core::arch::wasm32::memory_atomic_wait32(self.state.as_ptr(), CONTENDED, -1);
            }
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    fn unlock(&self) {
        #[cfg(feature = "tracing")]
        // SAFETY: the hook only receives an address; it has no preconditions.
        unsafe {
            ffi::start_unlock(self.addr())
        };
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            // SAFETY: `state` is a live, aligned i32 in shared linear memory.
            unsafe {
                core::arch::wasm32::memory_atomic_notify(self.state.as_ptr(), 1);
            }
        }
        #[cfg(feature = "tracing")]
        // SAFETY: as above.
        unsafe {
            ffi::finish_unlock(self.addr())
        };
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no other reference to `data` exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only guard reference.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.unlock();
    }
}
