//! The functions threadify appends: a lock over the reserved page, the per-instance start
//! routine and `__wasmgrind_thread_destroy`.
//!
//! Invariant shared by all of them: the temporary stack in the reserved page is only ever
//! the active `__stack_pointer` while the reserved lock is held, so the allocator (which
//! runs on the shadow stack) never sees two instances on the same temporary stack.

use wasm_encoder::{BlockType, Function, InstructionSink, MemArg, ValType};

use crate::layout::{ReservedPage, STACK_ALIGN};
use crate::symbols::LinkerSymbols;

/// Indices of the functions and globals threadify adds, plus what they use.
#[derive(Debug, Clone, Copy)]
pub struct Routines {
    /// Linker symbols the routines call.
    pub syms: LinkerSymbols,
    /// The shared page with counter, lock and temporary stack.
    pub page: ReservedPage,
    /// Shadow stack size of every later thread.
    pub stack_size: u32,
    /// Original start function, run before anything else.
    pub original_start: Option<u32>,
    /// Function index of the lock routine.
    pub lock: u32,
    /// Function index of the unlock routine.
    pub unlock: u32,
    /// Global holding this instance's allocated stack block (0 on the first instance).
    pub stack_base: u32,
    /// Global holding this instance's allocated TLS block (0 if none).
    pub tls_block: u32,
}

/// A 4-byte aligned i32 access at an absolute address.
fn word() -> MemArg {
    MemArg {
        offset: 0,
        align: 2,
        memory_index: 0,
    }
}

/// Addresses are u32; `i32.const` takes their two's-complement bit pattern.
fn addr(sink: &mut InstructionSink<'_>, address: u32) {
    sink.i32_const(address as i32);
}

impl Routines {
    /// `__wasmgrind_lock()`: spin on `cmpxchg 0 → 1`, sleeping with `memory.atomic.wait32`
    /// while the word is 1 (no lost wake-ups: wait re-checks the value atomically).
    pub fn lock_fn(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.loop_(BlockType::Empty);
        addr(&mut s, self.page.lock());
        s.i32_const(0).i32_const(1).i32_atomic_rmw_cmpxchg(word());
        s.if_(BlockType::Empty);
        addr(&mut s, self.page.lock());
        s.i32_const(1)
            .i64_const(-1)
            .memory_atomic_wait32(word())
            .drop()
            .br(1)
            .end();
        s.end().end();
        f
    }

    /// `__wasmgrind_unlock()`: store 0 and wake one waiter.
    pub fn unlock_fn(&self) -> Function {
        let mut f = Function::new([]);
        let mut s = f.instructions();
        addr(&mut s, self.page.lock());
        s.i32_const(0).i32_atomic_store(word());
        addr(&mut s, self.page.lock());
        s.i32_const(1).memory_atomic_notify(word()).drop().end();
        f
    }

    /// The new start function: runs the original start, then, on every instance but the
    /// first, allocates a stack and a TLS block on the temporary stack, switches to the new
    /// stack and initializes TLS. Traps if the allocator returns null.
    pub fn start_fn(&self) -> Function {
        const STACK: u32 = 0;
        const TLS: u32 = 1;
        let sy = &self.syms;
        let mut f = Function::new([(2, ValType::I32)]);
        let mut s = f.instructions();
        if let Some(start) = self.original_start {
            s.call(start);
        }
        // First instance: keep the linker's stack and the TLS `__wasm_init_memory` set up.
        addr(&mut s, self.page.counter());
        s.i32_const(1).i32_atomic_rmw_add(word()).i32_eqz();
        s.if_(BlockType::Empty).return_().end();

        s.call(self.lock);
        addr(&mut s, self.page.temp_stack_top());
        s.global_set(sy.stack_pointer);
        s.i32_const(self.stack_size as i32)
            .i32_const(STACK_ALIGN as i32)
            .call(sy.malloc)
            .local_set(STACK);
        s.global_get(sy.tls_size).if_(BlockType::Empty);
        s.global_get(sy.tls_size)
            .global_get(sy.tls_align)
            .call(sy.malloc)
            .local_set(TLS)
            .end();
        s.call(self.unlock);

        // Null checks after unlocking, so a failed allocation cannot deadlock other threads.
        s.local_get(STACK)
            .i32_eqz()
            .if_(BlockType::Empty)
            .unreachable()
            .end();
        s.global_get(sy.tls_size)
            .if_(BlockType::Empty)
            .local_get(TLS)
            .i32_eqz()
            .if_(BlockType::Empty)
            .unreachable()
            .end()
            .end();

        s.local_get(STACK).global_set(self.stack_base);
        s.local_get(TLS).global_set(self.tls_block);
        s.local_get(STACK)
            .i32_const(self.stack_size as i32)
            .i32_add()
            .global_set(sy.stack_pointer);
        s.local_get(TLS)
            .if_(BlockType::Empty)
            .local_get(TLS)
            .call(sy.init_tls)
            .end();
        s.end();
        f
    }

    /// `__wasmgrind_thread_destroy()`: frees this instance's TLS block and stack (while
    /// running on the temporary stack, since the freed stack is the current one), then
    /// leaves `__stack_pointer` at 0 so any later call traps instead of corrupting memory.
    /// Does nothing on the first instance or when called twice.
    pub fn destroy_fn(&self) -> Function {
        let sy = &self.syms;
        let mut f = Function::new([]);
        let mut s = f.instructions();
        s.global_get(self.stack_base)
            .i32_eqz()
            .if_(BlockType::Empty)
            .return_()
            .end();
        s.call(self.lock);
        addr(&mut s, self.page.temp_stack_top());
        s.global_set(sy.stack_pointer);
        s.global_get(self.tls_block).if_(BlockType::Empty);
        s.global_get(self.tls_block)
            .global_get(sy.tls_size)
            .global_get(sy.tls_align)
            .call(sy.free)
            .end();
        s.global_get(self.stack_base)
            .i32_const(self.stack_size as i32)
            .i32_const(STACK_ALIGN as i32)
            .call(sy.free);
        s.i32_const(0).global_set(self.stack_base);
        s.i32_const(0).global_set(self.tls_block);
        s.i32_const(0).global_set(sy.stack_pointer);
        s.call(self.unlock);
        s.end();
        f
    }
}
