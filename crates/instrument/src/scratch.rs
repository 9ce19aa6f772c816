//! Scratch locals appended after a function's own locals, allocated on first use.

use wasm_encoder::ValType;

/// What a scratch local holds; one local per (role, type) is enough because no two
/// instrumentation sequences are live at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The base address (i32) of the access being instrumented.
    Addr,
    /// The bumped event-buffer cursor (i32).
    Cursor,
    /// The effective address passed to hooks (i64).
    Effective,
    /// The operand right above the address (stored value, rmw operand, cmpxchg expected, ...).
    Operand,
    /// The next operand (cmpxchg replacement, wait timeout, bulk length).
    Operand2,
    /// The value an instruction (or the `atomic` hook, as i64) returned.
    Result,
    /// The status the `atomic` hook returned (i32).
    Status,
    /// Byte offset of a repeat-filter slot (i32).
    Slot,
    /// The record of a filtered access (i64).
    Record,
}

/// Scratch locals of one function body.
#[derive(Debug)]
pub(crate) struct Scratch {
    /// Index of the first scratch local (= params + declared locals of the input function).
    base: u32,
    /// Allocated slots in index order.
    slots: Vec<(Role, ValType)>,
}

impl Scratch {
    /// Scratch locals start at `base`, after every existing local.
    pub fn new(base: u32) -> Self {
        Scratch {
            base,
            slots: Vec::new(),
        }
    }

    /// Index of the local for `role` of type `ty`, allocating it on first use.
    pub fn get(&mut self, role: Role, ty: ValType) -> u32 {
        // Linear scan: a function uses at most a dozen distinct slots.
        let pos = match self.slots.iter().position(|&s| s == (role, ty)) {
            Some(pos) => pos,
            None => {
                self.slots.push((role, ty));
                self.slots.len() - 1
            }
        };
        self.base + pos as u32
    }

    /// Types of the allocated locals, in index order, to append to the locals declaration.
    pub fn types(&self) -> impl Iterator<Item = ValType> + '_ {
        self.slots.iter().map(|&(_, ty)| ty)
    }
}
