//! Threadify's options and the reserved page every instance shares.
//!
//! The reserved page is the page at the module's original initial memory size: threadify
//! raises the memory's minimum by one page, so the page exists (zeroed) from the moment the
//! shared memory is created, at an address every instance knows as a constant. Allocators
//! that grow memory with `memory.grow` (Rust's dlmalloc on wasm32) never hand it out.

use wasmparser::MemoryType;

use crate::error::ThreadifyError;

/// Size of a wasm page.
pub const PAGE_SIZE: u32 = 65536;
/// Alignment of the shadow stacks threadify allocates (the wasm C ABI's stack alignment).
pub const STACK_ALIGN: u32 = 16;
/// Default shadow stack size of every thread after the first (Rust's main-thread default).
pub const DEFAULT_STACK_SIZE: u32 = 1 << 20;

/// Tunables of [`crate::threadify_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadifyOptions {
    /// Shadow stack size in bytes for every thread after the first; a positive multiple of
    /// [`STACK_ALIGN`].
    pub stack_size: u32,
}

impl Default for ThreadifyOptions {
    fn default() -> Self {
        ThreadifyOptions {
            stack_size: DEFAULT_STACK_SIZE,
        }
    }
}

impl ThreadifyOptions {
    /// Checks the options before any code is generated.
    pub(crate) fn validate(&self) -> Result<(), ThreadifyError> {
        if self.stack_size == 0
            || !self.stack_size.is_multiple_of(STACK_ALIGN)
            || self.stack_size > i32::MAX as u32
        {
            return Err(ThreadifyError::InvalidStackSize(self.stack_size));
        }
        Ok(())
    }
}

/// Addresses inside the reserved page.
///
/// Layout (offsets from `base`): `+0` thread counter (u32, atomic), `+4` lock word (u32,
/// 0 free / 1 held), `+8..+64` unused, `+64..+PAGE_SIZE` temporary stack, growing down from
/// the page end. The temporary stack is only used while the lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedPage {
    /// Address of the page's first byte.
    pub base: u32,
}

impl ReservedPage {
    /// Address of the instance counter; the instance that bumps it from 0 is the first.
    pub fn counter(self) -> u32 {
        self.base
    }

    /// Address of the lock guarding the temporary stack.
    pub fn lock(self) -> u32 {
        self.base + 4
    }

    /// Initial stack pointer of the temporary stack (one past its highest byte).
    pub fn temp_stack_top(self) -> u32 {
        self.base + PAGE_SIZE
    }
}

/// Memory 0's type after reserving one more page, and the reserved page.
pub fn reserve_page(ty: &MemoryType) -> Result<(MemoryType, ReservedPage), ThreadifyError> {
    if ty.memory64 {
        return Err(ThreadifyError::UnsupportedMemory("64-bit"));
    }
    if ty.page_size_log2.is_some_and(|log2| log2 != 16) {
        return Err(ThreadifyError::UnsupportedMemory(
            "a custom-page-size memory",
        ));
    }
    // The reserved page must lie below 4 GiB so its last byte is addressable by i32.
    const MAX_PAGES: u64 = (u32::MAX as u64 + 1) / PAGE_SIZE as u64;
    let initial = ty.initial + 1;
    if initial > MAX_PAGES {
        return Err(ThreadifyError::NoRoomForReservedPage(
            ty.maximum.unwrap_or(ty.initial),
        ));
    }
    let maximum = ty.maximum.map(|max| max.max(initial));
    let base = u32::try_from(ty.initial * PAGE_SIZE as u64)
        .map_err(|_| ThreadifyError::NoRoomForReservedPage(ty.initial))?;
    Ok((
        MemoryType {
            initial,
            maximum,
            ..*ty
        },
        ReservedPage { base },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mem(initial: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            memory64: false,
            shared: true,
            initial,
            maximum,
            page_size_log2: None,
        }
    }

    #[test]
    fn reserves_the_page_after_the_initial_memory() {
        let (ty, page) = reserve_page(&mem(17, Some(16384))).unwrap();
        assert_eq!(ty.initial, 18);
        assert_eq!(ty.maximum, Some(16384));
        assert!(ty.shared);
        assert_eq!(page.base, 17 * PAGE_SIZE);
        assert_eq!(page.counter(), 17 * PAGE_SIZE);
        assert_eq!(page.lock(), 17 * PAGE_SIZE + 4);
        assert_eq!(page.temp_stack_top(), 18 * PAGE_SIZE);
    }

    #[test]
    fn raises_a_full_maximum() {
        let (ty, _) = reserve_page(&mem(2, Some(2))).unwrap();
        assert_eq!((ty.initial, ty.maximum), (3, Some(3)));
    }

    #[test]
    fn rejects_memories_without_room() {
        assert!(matches!(
            reserve_page(&mem(65536, Some(65536))),
            Err(ThreadifyError::NoRoomForReservedPage(65536))
        ));
        let mut m64 = mem(1, Some(2));
        m64.memory64 = true;
        assert!(matches!(
            reserve_page(&m64),
            Err(ThreadifyError::UnsupportedMemory(_))
        ));
    }

    #[test]
    fn validates_stack_size() {
        assert!(ThreadifyOptions::default().validate().is_ok());
        for bad in [0, 8, 1000, 0xffff_fff0] {
            let opts = ThreadifyOptions { stack_size: bad };
            assert!(matches!(
                opts.validate(),
                Err(ThreadifyError::InvalidStackSize(n)) if n == bad
            ));
        }
    }
}
