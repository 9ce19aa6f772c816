//! Lock identity: which atomics acquire and release a lock.
//!
//! threadlink programs say so with their lock hooks (`finish_lock(m)` acquires,
//! `start_unlock(m)` releases the mutex at `m`; the mutex's own atomics on `m` are
//! then not inferred again). For everything else locks are inferred from the
//! `atomic` hook's values (DESIGN.md, "Locks"):
//!
//! - **acquire**: a successful cmpxchg expecting 0 that writes a non-zero value, or
//!   an exchange that finds 0 and writes non-zero (std's contended path does
//!   `swap(2)`), acquires the lock word at that address;
//! - **release**: a store or exchange of 0, or a read-modify-write leaving 0, to a
//!   word the thread holds releases it;
//! - a word becomes a *lock* (is *confirmed*) only when a thread that acquired it
//!   releases it that way; until then it is a candidate. Only confirmed locks take
//!   part in lock-order cycles and misuse reports. A `Once` state or a refcount is
//!   never confirmed: nothing stores 0 into it;
//! - the value written on acquire must look like a lock state: below 2^16 (0 → 1,
//!   std's 2, musl's `EBUSY` or an owner thread id), not a pointer, so a lock-free
//!   list's `cmpxchg(null, node)` is no lock;
//! - a holder that overwrites its word with another non-zero value (std `Once`:
//!   `RUNNING` → `COMPLETE`) shows it is a state machine: never a lock again.
//!
//! Refinements by function name (the innermost inlined frame outside
//! `core::sync::atomic`, from DWARF, else the name section; in the C library any
//! frame of the inline chain, see [`role_of`]): the
//! mutex functions of Rust std's futex `Mutex` and wasi-libc's `pthread_mutex_*`
//! confirm their words at once; Rust std's other atomics (channel contexts, thread
//! parkers, once cells — state machines that can look like locks), the C library's
//! other atomics (its internal locks, thread list, malloc) and `Once` are not
//! inferred at all. Nor are musl's counters (`a_inc`, `a_dec`: a mutex's waiter count,
//! which any waiting thread moves between 0 and 1 with a compare-exchange).
//!
//! Reader-writer locks are known by name only ([`RwScheme`]): the lock and unlock
//! functions of Rust std's futex `RwLock` and of wasi-libc's `pthread_rwlock_*`. Their
//! word counts readers in its low bits (all ones: write-locked), so an atomic there
//! takes the lock to read or to write, releases or downgrades it by how it changes
//! that count ([`RwScheme::transition`]); many threads hold it at once to read. The
//! other atomics of reader-writer lock code (waiting flags, a writer's wake-up
//! counter) are not lock operations.
//!
//! How a word stops being a lock (freed memory reused, a handshake that looked like
//! a lock, a try-lock that is no self-deadlock) is the tracker's business: see
//! [`crate::lock_tracker`].
//!
//! Limits: a lock whose release is not a store/exchange/rmw to 0 (a ticket lock)
//! is never confirmed; an inferred lock unlocked by another thread than its locker
//! is taken for a handshake, not reported, and one left held by an exiting thread is
//! reported only once another thread blocks on it; of a reader-writer lock's misuses
//! only exiting while holding it is reported (not unlocking it unheld, nor by another
//! thread, nor taking it again).

use wasmgrind_instrument::AtomicOp;

/// What the inference does with a site's atomics, decided once per site by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockRole {
    /// Not a lock operation (`Once`, the C library's internals).
    Ignore,
    /// Unknown code: the generic rule.
    #[default]
    Generic,
    /// A known mutex implementation: its acquisitions are locks at once.
    KnownMutex,
    /// A reader-writer lock's own lock and unlock code.
    RwLock(RwScheme),
}

/// A reader-writer lock implementation whose lock word wasmgrind understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwScheme {
    /// Rust std's futex `RwLock`: bits 0-29 count readers (all ones: write-locked),
    /// bits 30 and 31 say readers / writers wait. Writer-preferring: a reader waits
    /// while a writer does.
    StdFutex,
    /// musl's `pthread_rwlock_t` (`_rw_lock`): bits 0-30 count readers (all ones:
    /// write-locked), bit 31 says threads wait. Readers get in while a writer waits.
    Musl,
}

/// What an atomic of a reader-writer lock's code does to the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwTransition {
    /// Takes it to read (one more reader).
    Read,
    /// Takes it to write (from no readers to write-locked).
    Write,
    /// Gives it up (one reader fewer, or write-locked to free).
    Release,
    /// Turns a write lock into a read lock (std's `downgrade`).
    Downgrade,
}

impl RwScheme {
    /// The reader-count field; all ones means write-locked.
    fn field(self) -> u64 {
        match self {
            RwScheme::StdFutex => (1 << 30) - 1,
            RwScheme::Musl => 0x7fff_ffff,
        }
    }

    /// Whether a new reader waits while a writer waits.
    pub fn writer_preferring(self) -> bool {
        self == RwScheme::StdFutex
    }

    /// What an atomic of `size` bytes that found `result` (with `operand` and
    /// `expected` as for [`shape`]) does to the lock: read by how it changed the
    /// reader-count field; `None` when it changed no count (a load, a failed
    /// compare-exchange, a waiting flag set or cleared).
    pub fn transition(
        self,
        op: AtomicOp,
        size: u8,
        result: u64,
        operand: u64,
        expected: u64,
    ) -> Option<RwTransition> {
        if op == AtomicOp::Store {
            // What it found is not known.
            return None;
        }
        let new = value_after(op, size, result, operand, expected)?;
        let field = self.field();
        let (old, new) = (result & field, new & field);
        match (old, new) {
            (0, n) if n == field => Some(RwTransition::Write),
            (o, n) if o + 1 < field && n == o + 1 => Some(RwTransition::Read),
            (o, 1) if o == field => Some(RwTransition::Downgrade),
            (o, 0) if o == field => Some(RwTransition::Release),
            (o, n) if o >= 1 && o < field && n + 1 == o => Some(RwTransition::Release),
            _ => None,
        }
    }
}

/// Rust std's futex `RwLock` functions that take, release or downgrade it.
const STD_RWLOCK_OPS: &[&str] = &[
    "read",
    "try_read",
    "read_contended",
    "write",
    "try_write",
    "write_contended",
    "read_unlock",
    "write_unlock",
    "downgrade",
];

/// Whether `function` (demangled, as `std::…::RwLock::read` or `<std::…::RwLock>::read`)
/// is one of [`STD_RWLOCK_OPS`].
fn is_std_rwlock_op(function: &str) -> bool {
    function.rsplit_once("::").is_some_and(|(path, name)| {
        path.trim_start_matches('<')
            .trim_end_matches('>')
            .ends_with("sync::rwlock::futex::RwLock")
            && STD_RWLOCK_OPS.contains(&name)
    })
}

/// The role of an atomic in code whose (demangled) function names, innermost
/// inlined frame first, are `functions`; `c_library` when DWARF places the code in
/// wasi-libc.
pub fn role_of(functions: &[&str], c_library: bool) -> LockRole {
    let rwlock_or_once = |f: &&str| {
        f.contains("rwlock::")
            || f.contains("RwLock")
            || f.contains("pthread_rwlock")
            || f.contains("once::futex::Once")
            || f.contains("pthread_once")
            || f.contains("call_once")
    };
    let known_mutex = |f: &&str| {
        // Demangled as `<std::sys::sync::mutex::futex::Mutex>::lock` or without `<>`.
        f.contains("std::sys::sync::mutex::futex::Mutex") || f.contains("pthread_mutex")
    };
    // Only the innermost named frame says what the atomic belongs to: a user
    // function calling a std Mutex is not itself an rwlock because a caller is.
    // The atomic itself is `core::sync::atomic` inlined into its user: look past it.
    let owner = functions
        .iter()
        .find(|f| !f.contains("core::sync::atomic::"));
    // Rust's standard library has one mutex, the futex `Mutex` (`ReentrantLock` and
    // the channels' wakers use it); its other atomics (channel contexts, parkers,
    // once cells) are state machines even where they look like locks.
    let std_internal = |f: &&str| {
        [
            "std::", "<std::", "core::", "<core::", "alloc::", "<alloc::",
        ]
        .iter()
        .any(|p| f.starts_with(p))
    };
    // musl's counter helpers: a mutex's waiter count goes 0 → 1 → 0 through `a_inc`
    // and `a_dec`, which wasi-libc builds as compare-exchange loops (`a_fetch_add`),
    // from any thread; inside `pthread_mutex_*` that is no lock word.
    let counter = |f: &&str| crate::libc_sync::is_musl_counter(f);
    if c_library {
        // The C library's atomics are musl's helpers (`a_cas`, `a_swap`, `a_store`)
        // inlined into the function they serve: its inline chain, not its innermost
        // frame, says whose they are, so a mutex's lock and unlock agree.
        let rwlock = |f: &&str| f.contains("pthread_rwlock");
        return if functions.iter().any(counter) {
            LockRole::Ignore
        } else if functions.iter().any(rwlock) {
            LockRole::RwLock(RwScheme::Musl)
        } else if functions.iter().any(rwlock_or_once) {
            LockRole::Ignore
        } else if functions.iter().any(known_mutex) {
            LockRole::KnownMutex
        } else {
            LockRole::Ignore
        };
    }
    match owner {
        Some(f) if is_std_rwlock_op(f) => LockRole::RwLock(RwScheme::StdFutex),
        Some(f) if rwlock_or_once(f) => LockRole::Ignore,
        Some(f) if known_mutex(f) => LockRole::KnownMutex,
        Some(f) if std_internal(f) => LockRole::Ignore,
        Some(f) if is_c_internal(f) => LockRole::Ignore,
        _ => LockRole::Generic,
    }
}

/// C library internals recognized by name when there is no DWARF.
fn is_c_internal(name: &str) -> bool {
    crate::libc_sync::is_libc_sync_function(name) || name == "malloc" || name == "free"
}

/// What one atomic does to a word, by its values alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Found 0, wrote `value` ≠ 0: takes a lock.
    Acquire { value: u64 },
    /// A cmpxchg expecting 0 that failed: tried to take a taken lock.
    FailedAttempt,
    /// Left the word 0: releases a lock.
    Release,
    /// Wrote a non-zero value without taking the word from 0.
    Overwrite,
    /// Only read (a load, a failed cmpxchg expecting non-zero, an rmw leaving non-zero).
    Other,
}

/// Largest value an acquire may write to count as a lock state.
pub const MAX_LOCK_VALUE: u64 = 0xffff;

/// The bits of an atomic of `size` bytes (its values come zero-extended to 64 bits).
pub fn width_mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (u32::from(size) * 8)) - 1
    }
}

/// What an atomic of `size` bytes that found `result` (with `operand` and `expected`
/// as for [`shape`]) leaves in its word, truncated to its width; `None` when it
/// writes nothing (a load, a compare-exchange that failed).
fn value_after(op: AtomicOp, size: u8, result: u64, operand: u64, expected: u64) -> Option<u64> {
    let mask = width_mask(size);
    let new = match op {
        AtomicOp::Load => return None,
        AtomicOp::Cmpxchg if result & mask != expected & mask => return None,
        AtomicOp::Store | AtomicOp::Xchg | AtomicOp::Cmpxchg => operand,
        AtomicOp::Add => result.wrapping_add(operand),
        AtomicOp::Sub => result.wrapping_sub(operand),
        AtomicOp::And => result & operand,
        AtomicOp::Or => result | operand,
        AtomicOp::Xor => result ^ operand,
    };
    Some(new & mask)
}

/// Classifies an atomic of `size` bytes by `result` (value before), `operand`
/// (value written / rmw operand / cmpxchg replacement) and `expected` (cmpxchg).
pub fn shape(op: AtomicOp, size: u8, result: u64, operand: u64, expected: u64) -> Shape {
    let after = value_after(op, size, result, operand, expected);
    let mask = width_mask(size);
    let (result, operand, expected) = (result & mask, operand & mask, expected & mask);
    match op {
        AtomicOp::Load => Shape::Other,
        AtomicOp::Store if operand == 0 => Shape::Release,
        AtomicOp::Store => Shape::Overwrite,
        AtomicOp::Xchg if operand == 0 => Shape::Release,
        AtomicOp::Xchg if result == 0 => Shape::Acquire { value: operand },
        AtomicOp::Xchg => Shape::Overwrite,
        AtomicOp::Cmpxchg if expected == 0 && result == 0 && operand != 0 => {
            Shape::Acquire { value: operand }
        }
        AtomicOp::Cmpxchg if expected == 0 && result != 0 => Shape::FailedAttempt,
        AtomicOp::Cmpxchg if result == expected && operand == 0 && expected != 0 => Shape::Release,
        AtomicOp::Cmpxchg if result == expected && operand != expected => Shape::Overwrite,
        AtomicOp::Cmpxchg => Shape::Other,
        // A read-modify-write: down to 0, or not.
        _ if after == Some(0) => Shape::Release,
        _ => Shape::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_std_futex_mutex_and_spin_locks() {
        // lock: cmpxchg(0 → 1) succeeded / failed.
        assert_eq!(
            shape(AtomicOp::Cmpxchg, 4, 0, 1, 0),
            Shape::Acquire { value: 1 }
        );
        assert_eq!(shape(AtomicOp::Cmpxchg, 4, 1, 1, 0), Shape::FailedAttempt);
        // contended: swap(2) finding 0 acquires, finding 1 does not.
        assert_eq!(
            shape(AtomicOp::Xchg, 4, 0, 2, 0),
            Shape::Acquire { value: 2 }
        );
        assert_eq!(shape(AtomicOp::Xchg, 4, 1, 2, 0), Shape::Overwrite);
        // unlock: swap(0), store(0), fetch_sub to 0.
        assert_eq!(shape(AtomicOp::Xchg, 4, 1, 0, 0), Shape::Release);
        assert_eq!(shape(AtomicOp::Store, 4, 0, 0, 0), Shape::Release);
        assert_eq!(
            shape(AtomicOp::Sub, 4, 0x3fff_ffff, 0x3fff_ffff, 0),
            Shape::Release
        );
        assert_eq!(shape(AtomicOp::Sub, 4, 2, 1, 0), Shape::Other);
        // i32 arithmetic wraps at 32 bits: musl's fetch_add(-(INT_MIN+1)).
        assert_eq!(
            shape(AtomicOp::Add, 4, 0x8000_0001, 0x7fff_ffff, 0),
            Shape::Release
        );
        assert_eq!(shape(AtomicOp::Load, 4, 0, 0, 0), Shape::Other);
        assert_eq!(shape(AtomicOp::Store, 4, 0, 4, 0), Shape::Overwrite);
    }

    #[test]
    fn roles_by_innermost_function() {
        assert_eq!(
            role_of(
                &["std::sys::sync::mutex::futex::Mutex::lock_contended"],
                false
            ),
            LockRole::KnownMutex
        );
        assert_eq!(
            role_of(
                &[
                    "core::sync::atomic::atomic_compare_exchange",
                    "<std::sys::sync::mutex::futex::Mutex>::lock"
                ],
                false
            ),
            LockRole::KnownMutex
        );
        assert_eq!(
            role_of(&["pthread_mutex_lock"], true),
            LockRole::KnownMutex,
            "wasi-libc's mutex, although C library code"
        );
        assert_eq!(
            role_of(
                &["std::sys::sync::rwlock::futex::RwLock::read", "app::main"],
                false
            ),
            LockRole::RwLock(RwScheme::StdFutex)
        );
        assert_eq!(
            role_of(
                &[
                    "core::sync::atomic::atomic_sub",
                    "<std::sys::sync::rwlock::futex::RwLock>::write_unlock"
                ],
                false
            ),
            LockRole::RwLock(RwScheme::StdFutex)
        );
        // Its writer wake-up counter is another word, no lock.
        assert_eq!(
            role_of(
                &["std::sys::sync::rwlock::futex::RwLock::wake_writer"],
                false
            ),
            LockRole::Ignore
        );
        assert_eq!(
            role_of(&["a_fetch_add", "a_inc", "__pthread_mutex_timedlock"], true),
            LockRole::Ignore,
            "a pthread mutex's waiter count is not its lock word"
        );
        assert_eq!(
            role_of(&["a_cas", "__pthread_mutex_timedlock"], true),
            LockRole::KnownMutex
        );
        assert_eq!(role_of(&["__tl_lock"], false), LockRole::Ignore);
        assert_eq!(role_of(&["dlmalloc"], true), LockRole::Ignore);
        assert_eq!(role_of(&["app::spin_lock"], false), LockRole::Generic);
        assert_eq!(
            role_of(
                &[
                    "core::sync::atomic::atomic_store",
                    "<std::sync::mpmc::context::Context>::reset"
                ],
                false
            ),
            LockRole::Ignore
        );
        assert_eq!(
            role_of(
                &[
                    "core::sync::atomic::atomic_compare_exchange",
                    "<core::sync::atomic::AtomicU32>::compare_exchange",
                    "app::Spin::lock"
                ],
                false
            ),
            LockRole::Generic
        );
        assert_eq!(role_of(&[], false), LockRole::Generic);
    }

    #[test]
    fn c_library_atomics_belong_to_their_inline_chain() {
        // wasi-libc's unlock: musl's `a_cas` inlined into `a_swap` inlined into
        // `__pthread_mutex_unlock`; the lock's `a_cas` into `__pthread_mutex_trylock`
        // inlined into `__pthread_mutex_timedlock`.
        assert_eq!(
            role_of(&["a_cas", "a_swap", "__pthread_mutex_unlock"], true),
            LockRole::KnownMutex
        );
        assert_eq!(
            role_of(
                &[
                    "a_cas",
                    "__pthread_mutex_trylock",
                    "__pthread_mutex_timedlock"
                ],
                true
            ),
            LockRole::KnownMutex
        );
        // The condition variable's own lock and its waiter bit on the mutex word.
        assert_eq!(
            role_of(&["a_cas", "lock", "__pthread_cond_timedwait"], true),
            LockRole::Ignore
        );
        assert_eq!(
            role_of(&["a_cas", "__pthread_rwlock_trywrlock"], true),
            LockRole::RwLock(RwScheme::Musl)
        );
        assert_eq!(
            role_of(
                &["a_fetch_add", "a_inc", "__pthread_rwlock_timedrdlock"],
                true
            ),
            LockRole::Ignore,
            "an rwlock's waiter count is not its lock word"
        );
        assert_eq!(role_of(&["a_swap", "__unlock"], true), LockRole::Ignore);
        // In the program's code only the innermost frame counts: a closure inlined
        // into `call_once` is the program's.
        assert_eq!(
            role_of(&["app::Spin::unlock", "std::sync::Once::call_once"], false),
            LockRole::Generic
        );
    }

    #[test]
    fn reader_writer_transitions_of_std_and_musl() {
        use RwTransition::*;
        let std = |op, result, operand, expected| {
            RwScheme::StdFutex.transition(op, 4, result, operand, expected)
        };
        const WRITE_LOCKED: u64 = (1 << 30) - 1;
        const READERS_WAITING: u64 = 1 << 30;
        const WRITERS_WAITING: u64 = 1 << 31;
        // read: cmpxchg(s → s + 1); a failed one does nothing.
        assert_eq!(std(AtomicOp::Cmpxchg, 2, 3, 2), Some(Read));
        assert_eq!(std(AtomicOp::Cmpxchg, 3, 3, 2), None);
        // write: cmpxchg(0 → WRITE_LOCKED), also with a waiting flag kept.
        assert_eq!(std(AtomicOp::Cmpxchg, 0, WRITE_LOCKED, 0), Some(Write));
        let waiting = WRITERS_WAITING;
        assert_eq!(
            std(AtomicOp::Cmpxchg, waiting, waiting | WRITE_LOCKED, waiting),
            Some(Write)
        );
        // Setting or clearing a waiting flag takes nothing.
        assert_eq!(std(AtomicOp::Cmpxchg, 1, 1 | READERS_WAITING, 1), None);
        assert_eq!(std(AtomicOp::Cmpxchg, waiting, 0, waiting), None);
        // read_unlock / write_unlock: fetch_sub.
        assert_eq!(std(AtomicOp::Sub, 2, 1, 0), Some(Release));
        assert_eq!(std(AtomicOp::Sub, 1 | waiting, 1, 0), Some(Release));
        assert_eq!(
            std(AtomicOp::Sub, WRITE_LOCKED | waiting, WRITE_LOCKED, 0),
            Some(Release)
        );
        // downgrade: fetch_add(READ_LOCKED - WRITE_LOCKED), wrapping.
        let downgrade = 1u64.wrapping_sub(WRITE_LOCKED) & 0xffff_ffff;
        assert_eq!(
            std(AtomicOp::Add, WRITE_LOCKED, downgrade, 0),
            Some(Downgrade)
        );
        assert_eq!(std(AtomicOp::Load, 1, 0, 0), None);

        let musl = |result, operand, expected| {
            RwScheme::Musl.transition(AtomicOp::Cmpxchg, 4, result, operand, expected)
        };
        // rdlock, wrlock, unlock of a reader (last or not) and of the writer.
        assert_eq!(musl(0, 1, 0), Some(Read));
        assert_eq!(musl(0x8000_0001, 0x8000_0002, 0x8000_0001), Some(Read));
        assert_eq!(musl(0, 0x7fff_ffff, 0), Some(Write));
        assert_eq!(musl(2, 1, 2), Some(Release));
        assert_eq!(musl(0x8000_0001, 0, 0x8000_0001), Some(Release));
        assert_eq!(musl(0x7fff_ffff, 0, 0x7fff_ffff), Some(Release));
        // The waiters bit set on a held lock.
        assert_eq!(musl(0x7fff_ffff, 0xffff_ffff, 0x7fff_ffff), None);
        assert!(RwScheme::StdFutex.writer_preferring());
        assert!(!RwScheme::Musl.writer_preferring());
    }
}
