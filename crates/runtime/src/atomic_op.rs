//! Performing a wasm atomic instruction on the shared memory from the host.
//!
//! The `atomic` hook does the instruction itself, inside a critical section for its
//! address (the monitor's or the runtime's stripe), so an atomic costs one host call and
//! the lock is held only for the instruction and its analysis, not for a round trip
//! through wasm. The results must be exactly those of
//! the instruction (the threads proposal's semantics, as wasmtime implements them):
//!
//! * every access is sequentially consistent;
//! * a narrow (`rmw8/16/32`, `load8/16/32`) access reads and writes only its own bytes,
//!   its result is zero-extended, and its operands are wrapped to its width first —
//!   including `cmpxchg`'s expected value, which is wrapped *before* the comparison
//!   (the final spec; WebAssembly/threads#195);
//! * memory is little-endian, as the host's (wasmtime runs only on little-endian hosts
//!   for shared memories; checked below at compile time).
//!
//! Misaligned or out-of-bounds accesses are never performed here: the caller checks and
//! lets the module execute the real instruction, which traps as wasm says.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};

use wasmgrind_instrument::AtomicOp;

#[cfg(not(target_endian = "little"))]
compile_error!("host-performed atomics assume a little-endian host, as wasm memory is");

/// The base address of a shared memory, which never moves (wasmtime's `SharedMemory`
/// reserves its whole range up front).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SharedBase {
    base: *const UnsafeCell<u8>,
}

// SAFETY: the pointer is only an address into a shared memory, which every thread may
// access with atomics (its cells are `UnsafeCell` precisely so that they can be shared);
// `SharedBase` itself grants no access without the `unsafe` contract of `perform`.
unsafe impl Send for SharedBase {}
// SAFETY: as above; it is never written through except by `perform`'s atomics.
unsafe impl Sync for SharedBase {}

impl SharedBase {
    /// The base of `data`, the slice `SharedMemory::data` returns.
    pub(crate) fn new(data: &[UnsafeCell<u8>]) -> Self {
        SharedBase {
            base: data.as_ptr(),
        }
    }

    /// Performs atomic `op` of `size` bytes (1, 2, 4 or 8) at byte `addr` with the
    /// instruction's `operand` (stored value, rmw operand or cmpxchg replacement) and
    /// `expected` (cmpxchg only), both given zero-extended to 64 bits; returns what the
    /// instruction returns, zero-extended (0 for a store).
    ///
    /// # Safety
    ///
    /// `addr` is a multiple of `size` and `addr + size` is within the memory's current
    /// length (memories only grow, so a length seen earlier will do), and the memory this
    /// base came from is still alive. Then the `size` bytes are valid, aligned for the
    /// atomic type of that width, and only ever accessed atomically by wasm and by us.
    pub(crate) unsafe fn perform(
        self,
        op: AtomicOp,
        size: u8,
        addr: u64,
        operand: u64,
        expected: u64,
    ) -> u64 {
        // SAFETY (all four arms): the caller guarantees the bytes are in bounds and
        // aligned for the width; `UnsafeCell` allows shared mutation, and the atomic
        // types have the size and alignment of the integer they wrap.
        unsafe {
            let p = self.base.add(addr as usize) as *mut u8;
            match size {
                1 => u64::from(rmw(
                    AtomicU8::from_ptr(p),
                    op,
                    operand as u8,
                    expected as u8,
                )),
                2 => u64::from(rmw(
                    AtomicU16::from_ptr(p.cast()),
                    op,
                    operand as u16,
                    expected as u16,
                )),
                4 => u64::from(rmw(
                    AtomicU32::from_ptr(p.cast()),
                    op,
                    operand as u32,
                    expected as u32,
                )),
                8 => rmw(AtomicU64::from_ptr(p.cast()), op, operand, expected),
                _ => unreachable!("atomic of {size} bytes"),
            }
        }
    }
}

/// The operations of one atomic integer type, so [`rmw`] is written once for all widths.
trait AtomicInt {
    type Int: Copy + Default;
    fn load(&self) -> Self::Int;
    fn store(&self, v: Self::Int);
    fn fetch_add(&self, v: Self::Int) -> Self::Int;
    fn fetch_sub(&self, v: Self::Int) -> Self::Int;
    fn fetch_and(&self, v: Self::Int) -> Self::Int;
    fn fetch_or(&self, v: Self::Int) -> Self::Int;
    fn fetch_xor(&self, v: Self::Int) -> Self::Int;
    fn swap(&self, v: Self::Int) -> Self::Int;
    /// The value found; the replacement was stored iff it equals `expected`.
    fn cmpxchg(&self, expected: Self::Int, replacement: Self::Int) -> Self::Int;
}

macro_rules! atomic_int {
    ($atomic:ty, $int:ty) => {
        impl AtomicInt for $atomic {
            type Int = $int;
            fn load(&self) -> $int {
                <$atomic>::load(self, SeqCst)
            }
            fn store(&self, v: $int) {
                <$atomic>::store(self, v, SeqCst)
            }
            fn fetch_add(&self, v: $int) -> $int {
                <$atomic>::fetch_add(self, v, SeqCst)
            }
            fn fetch_sub(&self, v: $int) -> $int {
                <$atomic>::fetch_sub(self, v, SeqCst)
            }
            fn fetch_and(&self, v: $int) -> $int {
                <$atomic>::fetch_and(self, v, SeqCst)
            }
            fn fetch_or(&self, v: $int) -> $int {
                <$atomic>::fetch_or(self, v, SeqCst)
            }
            fn fetch_xor(&self, v: $int) -> $int {
                <$atomic>::fetch_xor(self, v, SeqCst)
            }
            fn swap(&self, v: $int) -> $int {
                <$atomic>::swap(self, v, SeqCst)
            }
            fn cmpxchg(&self, expected: $int, replacement: $int) -> $int {
                match <$atomic>::compare_exchange(self, expected, replacement, SeqCst, SeqCst) {
                    Ok(v) | Err(v) => v,
                }
            }
        }
    };
}

atomic_int!(AtomicU8, u8);
atomic_int!(AtomicU16, u16);
atomic_int!(AtomicU32, u32);
atomic_int!(AtomicU64, u64);

/// `op` on `a` with the (already wrapped) operands; a store returns 0.
fn rmw<A: AtomicInt>(a: &A, op: AtomicOp, operand: A::Int, expected: A::Int) -> A::Int {
    match op {
        AtomicOp::Load => a.load(),
        AtomicOp::Store => {
            a.store(operand);
            A::Int::default()
        }
        AtomicOp::Add => a.fetch_add(operand),
        AtomicOp::Sub => a.fetch_sub(operand),
        AtomicOp::And => a.fetch_and(operand),
        AtomicOp::Or => a.fetch_or(operand),
        AtomicOp::Xor => a.fetch_xor(operand),
        AtomicOp::Xchg => a.swap(operand),
        AtomicOp::Cmpxchg => a.cmpxchg(expected, operand),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `op` on a copy of `init` (16 bytes) at `addr`, returning the result and the
    /// memory afterwards.
    fn on(
        init: [u8; 16],
        op: AtomicOp,
        size: u8,
        addr: u64,
        operand: u64,
        expected: u64,
    ) -> (u64, [u8; 16]) {
        // 8-aligned backing so every width's alignment holds.
        let mem: [UnsafeCell<u64>; 2] = [
            UnsafeCell::new(u64::from_le_bytes(init[..8].try_into().unwrap())),
            UnsafeCell::new(u64::from_le_bytes(init[8..].try_into().unwrap())),
        ];
        let base = SharedBase {
            base: mem.as_ptr().cast(),
        };
        // SAFETY: `addr + size <= 16` and aligned in every call below; `mem` outlives it.
        let r = unsafe { base.perform(op, size, addr, operand, expected) };
        let [a, b] = mem.map(UnsafeCell::into_inner);
        let mut out = [0; 16];
        out[..8].copy_from_slice(&a.to_le_bytes());
        out[8..].copy_from_slice(&b.to_le_bytes());
        (r, out)
    }

    const INIT: [u8; 16] = [
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
        0x01,
    ];

    #[test]
    fn narrow_results_are_zero_extended_little_endian() {
        assert_eq!(on(INIT, AtomicOp::Load, 1, 9, 0, 0).0, 0xAA);
        assert_eq!(on(INIT, AtomicOp::Load, 2, 2, 0, 0).0, 0x4433);
        assert_eq!(on(INIT, AtomicOp::Load, 4, 4, 0, 0).0, 0x8877_6655);
        assert_eq!(
            on(INIT, AtomicOp::Load, 8, 8, 0, 0).0,
            0x01FF_EEDD_CCBB_AA99
        );
    }

    #[test]
    fn narrow_writes_touch_only_their_bytes_and_wrap_the_operand() {
        let (r, m) = on(INIT, AtomicOp::Store, 2, 6, 0xFFFF_1234, 0);
        assert_eq!(r, 0);
        let mut want = INIT;
        want[6..8].copy_from_slice(&[0x34, 0x12]);
        assert_eq!(m, want);
        // 0xFF + 0x02 wraps within the byte: no carry into the neighbour.
        let (r, m) = on(INIT, AtomicOp::Add, 1, 14, 0x102, 0);
        assert_eq!(r, 0xFF);
        let mut want = INIT;
        want[14] = 0x01;
        assert_eq!(m, want);
    }

    #[test]
    fn every_rmw_returns_the_old_value_and_stores_its_result() {
        let old = 0x4433_2211u64;
        for (op, new) in [
            (AtomicOp::Add, old + 0x0F),
            (AtomicOp::Sub, old - 0x0F),
            (AtomicOp::And, old & 0x0F),
            (AtomicOp::Or, old | 0x0F),
            (AtomicOp::Xor, old ^ 0x0F),
            (AtomicOp::Xchg, 0x0F),
        ] {
            let (r, m) = on(INIT, op, 4, 0, 0x0F, 0);
            assert_eq!(r, old, "{op:?}");
            assert_eq!(
                u32::from_le_bytes(m[..4].try_into().unwrap()),
                new as u32,
                "{op:?}"
            );
            assert_eq!(m[4..], INIT[4..], "{op:?}");
        }
    }

    #[test]
    fn cmpxchg_wraps_expected_before_comparing() {
        // rmw16.cmpxchg_u with expected 0x01FF_2211: wrapped to 0x2211, it matches.
        let (r, m) = on(INIT, AtomicOp::Cmpxchg, 2, 0, 0xCAFE, 0x01FF_2211);
        assert_eq!(r, 0x2211);
        assert_eq!(m[..2], [0xFE, 0xCA]);
        // A mismatch stores nothing and returns the value found.
        let (r, m) = on(INIT, AtomicOp::Cmpxchg, 8, 8, 7, 0);
        assert_eq!(r, 0x01FF_EEDD_CCBB_AA99);
        assert_eq!(m, INIT);
    }
}
