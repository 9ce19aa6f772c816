//! Code that appends one 8-byte record to the event buffer.
//!
//! A record is written with a single `i64.store` of `(site << 32) | addr` at `cursor` in the
//! events memory (little-endian, so bytes 0..4 hold `addr` and 4..8 hold `site`); then the
//! cursor is bumped by 8 and, when it reaches the capacity, `wasmgrind.flush` is called.
//! With the repeat filter ([`crate::filter`]) a plain access first probes its slot and logs
//! only on a miss.

use wasm_encoder::{BlockType, Function, Instruction as I, MemArg, ValType};

use crate::filter::FilterLayout;
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
    /// The repeat filter, with [`crate::Options::filter_repeats`].
    pub filter: Option<FilterLayout>,
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
            RecordMode::Helper => self.call_helper(&mut put, addr, site),
            RecordMode::Inline => {
                let cursor = scratch.get(Role::Cursor, ValType::I32);
                put(I::GlobalGet(self.cursor));
                push_record(&mut put, addr, site);
                self.store_and_bump(&mut put, cursor);
            }
        }
    }

    /// Emits instructions that append the record of the plain access at `local + offset`
    /// unless the repeat filter holds it in the current generation, filling the filter slot
    /// when it logs; they leave the operand stack unchanged. Without a filter: [`Buffer::emit`].
    pub fn emit_filtered(
        &self,
        out: &mut Vec<u8>,
        scratch: &mut Scratch,
        local: u32,
        offset: u32,
        site: u32,
    ) {
        use wasm_encoder::Encode;
        let addr = RecordAddr::Local { local, offset };
        let Some(filter) = self.filter else {
            return self.emit(out, scratch, addr, site);
        };
        let slot = scratch.get(Role::Slot, ValType::I32);
        let record = scratch.get(Role::Record, ValType::I64);
        let mut put = |i: I<'_>| i.encode(out);
        // Hit = the slot holds this record, logged in the current generation.
        filter.slot_of(&mut put, local, offset, site);
        put(I::LocalTee(slot));
        put(I::I64Load(filter.memarg(self.memory, 0)));
        push_record(&mut put, addr, site);
        put(I::LocalTee(record));
        put(I::I64Ne);
        put(I::LocalGet(slot));
        put(I::I64Load(filter.memarg(self.memory, 8)));
        put(I::GlobalGet(filter.generation_global));
        put(I::I64Ne);
        put(I::I32Or);
        put(I::If(BlockType::Empty));
        filter.count_displacement(&mut put, self.memory, slot);
        put(I::LocalGet(slot));
        put(I::LocalGet(record));
        put(I::I64Store(filter.memarg(self.memory, 0)));
        put(I::LocalGet(slot));
        put(I::GlobalGet(filter.generation_global));
        put(I::I64Store(filter.memarg(self.memory, 8)));
        match self.mode {
            RecordMode::Inline => {
                let cursor = scratch.get(Role::Cursor, ValType::I32);
                put(I::GlobalGet(self.cursor));
                put(I::LocalGet(record));
                self.store_and_bump(&mut put, cursor);
            }
            RecordMode::Helper => self.call_helper(&mut put, addr, site),
        }
        put(I::End);
    }

    /// `[]` → `[]`: the helper appends the record of `addr` and `site`.
    fn call_helper(&self, put: &mut impl FnMut(I<'_>), addr: RecordAddr, site: u32) {
        push_addr(put, addr);
        put(I::I32Const(site as i32));
        put(I::Call(self.helper));
    }

    /// Starts a new filter generation (nothing without a filter): emitted after every
    /// synchronizing hook call and every call that may reach a non-hook import.
    pub fn emit_bump(&self, out: &mut Vec<u8>) {
        use wasm_encoder::Encode;
        if let Some(filter) = self.filter {
            filter.bump(&mut |i: I<'_>| i.encode(out));
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
        self.flush(put, I::I32Const(self.capacity as i32));
        put(I::End);
    }

    /// `flush(len)` with `len` pushed by `len`, then cursor = 0: the module resets the
    /// cursor itself, so the host never has to write the global.
    fn flush(&self, put: &mut impl FnMut(I<'_>), len: I<'_>) {
        put(len);
        put(I::Call(Hook::Flush.func_index()));
        self.reset(put);
    }

    /// cursor = 0.
    fn reset(&self, put: &mut impl FnMut(I<'_>)) {
        put(I::I32Const(0));
        put(I::GlobalSet(self.cursor));
    }

    /// Pushes the buffer's length in bytes (the cursor) as an i32: the argument of a hook
    /// that takes the records itself, after which [`Self::emit_reset`] empties the buffer.
    pub fn emit_len(&self, out: &mut Vec<u8>) {
        use wasm_encoder::Encode;
        I::GlobalGet(self.cursor).encode(out);
    }

    /// Empties the buffer (cursor = 0) after a hook took its records.
    pub fn emit_reset(&self, out: &mut Vec<u8>) {
        use wasm_encoder::Encode;
        self.reset(&mut |i: I<'_>| i.encode(out));
    }

    /// Emits instructions that hand a non-empty buffer to the host (`flush(cursor)`, then
    /// cursor = 0) and leave the operand stack unchanged: emitted before every draining
    /// hook, so the host never reads the cursor global on that path.
    pub fn emit_drain(&self, out: &mut Vec<u8>) {
        use wasm_encoder::Encode;
        let mut put = |i: I<'_>| i.encode(out);
        put(I::GlobalGet(self.cursor));
        put(I::If(BlockType::Empty));
        self.flush(&mut put, I::GlobalGet(self.cursor));
        put(I::End);
    }
}

/// `[]` → `[record: i64]`: `(site << 32) | addr`.
fn push_record(put: &mut impl FnMut(I<'_>), addr: RecordAddr, site: u32) {
    let high = I::I64Const(((site as u64) << 32) as i64);
    match addr {
        RecordAddr::Zero => put(high),
        RecordAddr::Local { .. } => {
            push_addr(put, addr);
            put(I::I64ExtendI32U);
            put(high);
            put(I::I64Or);
        }
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
