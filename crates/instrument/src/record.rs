//! Code that appends one 8-byte record to the event buffer.
//!
//! A record is written with a single `i64.store` of `(site << 32) | addr` at `cursor` in the
//! events memory (little-endian, so bytes 0..4 hold `addr` and 4..8 hold `site`); then the
//! cursor is bumped by 8 and, when it reaches the capacity, `wasmgrind.flush` is called.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

use crate::scratch::{Role, Scratch};
use crate::{Hook, RECORD_SIZE};

/// How records are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordMode {
    /// The record sequence is emitted inline at every site (the default: measured faster, see
    /// the crate documentation).
    #[default]
    Inline,
    /// Every site calls one generated helper `(addr: i32, site: i32)`, which keeps the code small.
    Helper,
}

/// Where the event buffer lives in the instrumented module.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buffer {
    pub memory: u32,
    pub cursor: u32,
    pub capacity: u32,
    pub mode: RecordMode,
    /// Function index of the helper (meaningful in [`RecordMode::Helper`] only).
    pub helper: u32,
}

/// The address a record carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RecordAddr {
    /// 0 (call records).
    Zero,
    /// `local + offset`, wrapping to u32.
    Local { local: u32, offset: u32 },
}

impl Buffer {
    /// Emits instructions that append a record; they leave the operand stack unchanged.
    pub fn emit(&self, out: &mut Vec<u8>, scratch: &mut Scratch, addr: RecordAddr, site: u32) {
        use wasm_encoder::Encode;
        let mut put = |i: I<'_>| i.encode(out);
        match self.mode {
            RecordMode::Helper => {
                push_addr(&mut put, addr);
                put(I::I32Const(site as i32));
                put(I::Call(self.helper));
            }
            RecordMode::Inline => {
                let cursor = scratch.get(Role::Cursor, ValType::I32);
                put(I::GlobalGet(self.cursor));
                match addr {
                    RecordAddr::Zero => put(I::I64Const(((site as u64) << 32) as i64)),
                    RecordAddr::Local { .. } => {
                        push_addr(&mut put, addr);
                        put(I::I64ExtendI32U);
                        put(I::I64Const(((site as u64) << 32) as i64));
                        put(I::I64Or);
                    }
                }
                self.store_and_bump(&mut put, cursor);
            }
        }
    }

    /// The body of the helper `(addr: i32, site: i32)` used in [`RecordMode::Helper`].
    pub fn helper_body(&self) -> Function {
        use wasm_encoder::Encode;
        let mut f = Function::new([(1, ValType::I32)]);
        let mut bytes = Vec::new();
        let mut put = |i: I<'_>| i.encode(&mut bytes);
        put(I::GlobalGet(self.cursor));
        put(I::LocalGet(0));
        put(I::I64ExtendI32U);
        put(I::LocalGet(1));
        put(I::I64ExtendI32U);
        put(I::I64Const(32));
        put(I::I64Shl);
        put(I::I64Or);
        self.store_and_bump(&mut put, 2);
        put(I::End);
        f.raw(bytes);
        f
    }

    /// With `[cursor: i32, record: i64]` on the stack: store, bump, flush when full.
    fn store_and_bump(&self, put: &mut impl FnMut(I<'_>), cursor_local: u32) {
        put(I::I64Store(MemArg {
            offset: 0,
            align: 3,
            memory_index: self.memory,
        }));
        put(I::GlobalGet(self.cursor));
        put(I::I32Const(RECORD_SIZE as i32));
        put(I::I32Add);
        put(I::LocalTee(cursor_local));
        put(I::GlobalSet(self.cursor));
        put(I::LocalGet(cursor_local));
        put(I::I32Const(self.capacity as i32));
        put(I::I32Eq);
        put(I::If(BlockType::Empty));
        put(I::Call(Hook::Flush.func_index()));
        // The host resets the cursor in `flush`; resetting it here as well keeps the module
        // running correctly (and in bounds) under a host whose hooks do nothing.
        put(I::I32Const(0));
        put(I::GlobalSet(self.cursor));
        put(I::End);
    }
}

fn push_addr(put: &mut impl FnMut(I<'_>), addr: RecordAddr) {
    match addr {
        RecordAddr::Zero => put(I::I32Const(0)),
        RecordAddr::Local { local, offset } => {
            put(I::LocalGet(local));
            if offset != 0 {
                put(I::I32Const(offset as i32));
                put(I::I32Add);
            }
        }
    }
}
