//! Classification of the input's memory-touching operators into the shapes the rewrite handles.

use wasm_encoder::ValType;
use wasmparser::{MemArg, Operator};

use crate::{AtomicOp, BulkOp};

/// A plain (non-atomic) load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plain {
    pub memarg: MemArg,
    /// True for stores (lane stores included).
    pub write: bool,
    /// Bytes accessed.
    pub size: u8,
    /// Type of the operand above the address on the stack (the stored value, or the vector a
    /// lane load inserts into), which must be set aside to reach the address.
    pub above: Option<ValType>,
}

/// An atomic load, store, read-modify-write or compare-exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Atomic {
    pub memarg: MemArg,
    pub op: AtomicOp,
    pub size: u8,
    /// i32 or i64: type of the values taken and returned.
    pub ty: ValType,
}

/// A memory-touching operator the rewrite instruments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Plain(Plain),
    Atomic(Atomic),
    /// `memory.atomic.wait32/64`; `ty` is the type of the expected value.
    Wait {
        memarg: MemArg,
        ty: ValType,
        size: u8,
    },
    Notify {
        memarg: MemArg,
    },
    Fence,
    /// `memory.copy`, `memory.fill`, `memory.init`; `dst`/`src` memory indices (`src` equals `dst`
    /// except for copies).
    Bulk {
        op: BulkOp,
        dst: u32,
        src: u32,
    },
}

impl Access {
    /// The memory the access touches (`None` for a fence, which touches none).
    pub fn memory(&self) -> Option<u32> {
        match self {
            Access::Plain(p) => Some(p.memarg.memory),
            Access::Atomic(a) => Some(a.memarg.memory),
            Access::Wait { memarg, .. } | Access::Notify { memarg } => Some(memarg.memory),
            Access::Fence => None,
            Access::Bulk { dst, .. } => Some(*dst),
        }
    }
}

fn load(memarg: MemArg, size: u8) -> Access {
    Access::Plain(Plain {
        memarg,
        write: false,
        size,
        above: None,
    })
}

fn store(memarg: MemArg, size: u8, ty: ValType) -> Access {
    Access::Plain(Plain {
        memarg,
        write: true,
        size,
        above: Some(ty),
    })
}

fn lane_load(memarg: MemArg, size: u8) -> Access {
    Access::Plain(Plain {
        memarg,
        write: false,
        size,
        above: Some(ValType::V128),
    })
}

fn atomic(memarg: MemArg, op: AtomicOp, size: u8, ty: ValType) -> Access {
    Access::Atomic(Atomic {
        memarg,
        op,
        size,
        ty,
    })
}

/// Classifies `op`; `None` for operators that do not touch linear memory.
pub(crate) fn classify(op: &Operator<'_>) -> Option<Access> {
    use AtomicOp::*;
    use Operator as O;
    use ValType::{F32, F64, I32, I64, V128};
    Some(match *op {
        // Plain loads.
        O::I32Load { memarg } | O::F32Load { memarg } => load(memarg, 4),
        O::I64Load { memarg } | O::F64Load { memarg } => load(memarg, 8),
        O::I32Load8S { memarg }
        | O::I32Load8U { memarg }
        | O::I64Load8S { memarg }
        | O::I64Load8U { memarg } => load(memarg, 1),
        O::I32Load16S { memarg }
        | O::I32Load16U { memarg }
        | O::I64Load16S { memarg }
        | O::I64Load16U { memarg } => load(memarg, 2),
        O::I64Load32S { memarg } | O::I64Load32U { memarg } => load(memarg, 4),
        // Plain stores.
        O::I32Store { memarg } => store(memarg, 4, I32),
        O::I64Store { memarg } => store(memarg, 8, I64),
        O::F32Store { memarg } => store(memarg, 4, F32),
        O::F64Store { memarg } => store(memarg, 8, F64),
        O::I32Store8 { memarg } => store(memarg, 1, I32),
        O::I32Store16 { memarg } => store(memarg, 2, I32),
        O::I64Store8 { memarg } => store(memarg, 1, I64),
        O::I64Store16 { memarg } => store(memarg, 2, I64),
        O::I64Store32 { memarg } => store(memarg, 4, I64),
        // SIMD loads and stores: size = bytes read or written.
        O::V128Load { memarg } => load(memarg, 16),
        O::V128Load8x8S { memarg }
        | O::V128Load8x8U { memarg }
        | O::V128Load16x4S { memarg }
        | O::V128Load16x4U { memarg }
        | O::V128Load32x2S { memarg }
        | O::V128Load32x2U { memarg }
        | O::V128Load64Splat { memarg }
        | O::V128Load64Zero { memarg } => load(memarg, 8),
        O::V128Load8Splat { memarg } => load(memarg, 1),
        O::V128Load16Splat { memarg } => load(memarg, 2),
        O::V128Load32Splat { memarg } | O::V128Load32Zero { memarg } => load(memarg, 4),
        O::V128Store { memarg } => store(memarg, 16, V128),
        O::V128Load8Lane { memarg, .. } => lane_load(memarg, 1),
        O::V128Load16Lane { memarg, .. } => lane_load(memarg, 2),
        O::V128Load32Lane { memarg, .. } => lane_load(memarg, 4),
        O::V128Load64Lane { memarg, .. } => lane_load(memarg, 8),
        O::V128Store8Lane { memarg, .. } => store(memarg, 1, V128),
        O::V128Store16Lane { memarg, .. } => store(memarg, 2, V128),
        O::V128Store32Lane { memarg, .. } => store(memarg, 4, V128),
        O::V128Store64Lane { memarg, .. } => store(memarg, 8, V128),
        // Atomic loads and stores.
        O::I32AtomicLoad { memarg } => atomic(memarg, Load, 4, I32),
        O::I64AtomicLoad { memarg } => atomic(memarg, Load, 8, I64),
        O::I32AtomicLoad8U { memarg } => atomic(memarg, Load, 1, I32),
        O::I32AtomicLoad16U { memarg } => atomic(memarg, Load, 2, I32),
        O::I64AtomicLoad8U { memarg } => atomic(memarg, Load, 1, I64),
        O::I64AtomicLoad16U { memarg } => atomic(memarg, Load, 2, I64),
        O::I64AtomicLoad32U { memarg } => atomic(memarg, Load, 4, I64),
        O::I32AtomicStore { memarg } => atomic(memarg, Store, 4, I32),
        O::I64AtomicStore { memarg } => atomic(memarg, Store, 8, I64),
        O::I32AtomicStore8 { memarg } => atomic(memarg, Store, 1, I32),
        O::I32AtomicStore16 { memarg } => atomic(memarg, Store, 2, I32),
        O::I64AtomicStore8 { memarg } => atomic(memarg, Store, 1, I64),
        O::I64AtomicStore16 { memarg } => atomic(memarg, Store, 2, I64),
        O::I64AtomicStore32 { memarg } => atomic(memarg, Store, 4, I64),
        // Read-modify-write.
        O::I32AtomicRmwAdd { memarg } => atomic(memarg, Add, 4, I32),
        O::I64AtomicRmwAdd { memarg } => atomic(memarg, Add, 8, I64),
        O::I32AtomicRmw8AddU { memarg } => atomic(memarg, Add, 1, I32),
        O::I32AtomicRmw16AddU { memarg } => atomic(memarg, Add, 2, I32),
        O::I64AtomicRmw8AddU { memarg } => atomic(memarg, Add, 1, I64),
        O::I64AtomicRmw16AddU { memarg } => atomic(memarg, Add, 2, I64),
        O::I64AtomicRmw32AddU { memarg } => atomic(memarg, Add, 4, I64),
        O::I32AtomicRmwSub { memarg } => atomic(memarg, Sub, 4, I32),
        O::I64AtomicRmwSub { memarg } => atomic(memarg, Sub, 8, I64),
        O::I32AtomicRmw8SubU { memarg } => atomic(memarg, Sub, 1, I32),
        O::I32AtomicRmw16SubU { memarg } => atomic(memarg, Sub, 2, I32),
        O::I64AtomicRmw8SubU { memarg } => atomic(memarg, Sub, 1, I64),
        O::I64AtomicRmw16SubU { memarg } => atomic(memarg, Sub, 2, I64),
        O::I64AtomicRmw32SubU { memarg } => atomic(memarg, Sub, 4, I64),
        O::I32AtomicRmwAnd { memarg } => atomic(memarg, And, 4, I32),
        O::I64AtomicRmwAnd { memarg } => atomic(memarg, And, 8, I64),
        O::I32AtomicRmw8AndU { memarg } => atomic(memarg, And, 1, I32),
        O::I32AtomicRmw16AndU { memarg } => atomic(memarg, And, 2, I32),
        O::I64AtomicRmw8AndU { memarg } => atomic(memarg, And, 1, I64),
        O::I64AtomicRmw16AndU { memarg } => atomic(memarg, And, 2, I64),
        O::I64AtomicRmw32AndU { memarg } => atomic(memarg, And, 4, I64),
        O::I32AtomicRmwOr { memarg } => atomic(memarg, Or, 4, I32),
        O::I64AtomicRmwOr { memarg } => atomic(memarg, Or, 8, I64),
        O::I32AtomicRmw8OrU { memarg } => atomic(memarg, Or, 1, I32),
        O::I32AtomicRmw16OrU { memarg } => atomic(memarg, Or, 2, I32),
        O::I64AtomicRmw8OrU { memarg } => atomic(memarg, Or, 1, I64),
        O::I64AtomicRmw16OrU { memarg } => atomic(memarg, Or, 2, I64),
        O::I64AtomicRmw32OrU { memarg } => atomic(memarg, Or, 4, I64),
        O::I32AtomicRmwXor { memarg } => atomic(memarg, Xor, 4, I32),
        O::I64AtomicRmwXor { memarg } => atomic(memarg, Xor, 8, I64),
        O::I32AtomicRmw8XorU { memarg } => atomic(memarg, Xor, 1, I32),
        O::I32AtomicRmw16XorU { memarg } => atomic(memarg, Xor, 2, I32),
        O::I64AtomicRmw8XorU { memarg } => atomic(memarg, Xor, 1, I64),
        O::I64AtomicRmw16XorU { memarg } => atomic(memarg, Xor, 2, I64),
        O::I64AtomicRmw32XorU { memarg } => atomic(memarg, Xor, 4, I64),
        O::I32AtomicRmwXchg { memarg } => atomic(memarg, Xchg, 4, I32),
        O::I64AtomicRmwXchg { memarg } => atomic(memarg, Xchg, 8, I64),
        O::I32AtomicRmw8XchgU { memarg } => atomic(memarg, Xchg, 1, I32),
        O::I32AtomicRmw16XchgU { memarg } => atomic(memarg, Xchg, 2, I32),
        O::I64AtomicRmw8XchgU { memarg } => atomic(memarg, Xchg, 1, I64),
        O::I64AtomicRmw16XchgU { memarg } => atomic(memarg, Xchg, 2, I64),
        O::I64AtomicRmw32XchgU { memarg } => atomic(memarg, Xchg, 4, I64),
        O::I32AtomicRmwCmpxchg { memarg } => atomic(memarg, Cmpxchg, 4, I32),
        O::I64AtomicRmwCmpxchg { memarg } => atomic(memarg, Cmpxchg, 8, I64),
        O::I32AtomicRmw8CmpxchgU { memarg } => atomic(memarg, Cmpxchg, 1, I32),
        O::I32AtomicRmw16CmpxchgU { memarg } => atomic(memarg, Cmpxchg, 2, I32),
        O::I64AtomicRmw8CmpxchgU { memarg } => atomic(memarg, Cmpxchg, 1, I64),
        O::I64AtomicRmw16CmpxchgU { memarg } => atomic(memarg, Cmpxchg, 2, I64),
        O::I64AtomicRmw32CmpxchgU { memarg } => atomic(memarg, Cmpxchg, 4, I64),
        // Wait, notify, fence.
        O::MemoryAtomicWait32 { memarg } => Access::Wait {
            memarg,
            ty: I32,
            size: 4,
        },
        O::MemoryAtomicWait64 { memarg } => Access::Wait {
            memarg,
            ty: I64,
            size: 8,
        },
        O::MemoryAtomicNotify { memarg } => Access::Notify { memarg },
        O::AtomicFence => Access::Fence,
        // Bulk memory.
        O::MemoryCopy { dst_mem, src_mem } => Access::Bulk {
            op: BulkOp::Copy,
            dst: dst_mem,
            src: src_mem,
        },
        O::MemoryFill { mem } => Access::Bulk {
            op: BulkOp::Fill,
            dst: mem,
            src: mem,
        },
        O::MemoryInit { mem, .. } => Access::Bulk {
            op: BulkOp::Init,
            dst: mem,
            src: mem,
        },
        _ => return None,
    })
}
