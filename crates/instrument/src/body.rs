//! Rewriting of one function body: copies every instruction (with function indices remapped)
//! and wraps the memory accesses, atomics and calls it must report.

use wasm_encoder::reencode::Reencode;
use wasm_encoder::{BlockType, Encode, Function, Instruction as I, ValType};
use wasmparser::{FunctionBody, Operator};

use crate::access::{classify, Access, Atomic, Plain};
use crate::module_info::ModuleInfo;
use crate::record::{Buffer, RecordAddr};
use crate::remap::Remap;
use crate::scratch::{Role, Scratch};
use crate::{AtomicOp, BulkOp, Hook, InstrumentError, PlainPolicy, Scope, Site, SiteKind};

/// Module-wide facts every body rewrite needs.
pub(crate) struct Context<'a> {
    pub info: &'a ModuleInfo,
    /// The instrumented memory, if any.
    pub target: Option<u32>,
    pub buffer: Buffer,
    pub call_stacks: bool,
    pub scope: Scope,
    /// [`crate::Options::plain_policy`].
    pub plain_policy: &'a [PlainPolicy],
}

impl Context<'_> {
    /// The policy of plain site `site` (missing entries are [`PlainPolicy::Always`]).
    fn policy(&self, site: u32) -> PlainPolicy {
        self.plain_policy
            .get(site as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// What a call may do to the repeat filter's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallEffect {
    /// Reaches only module code, whose own synchronization bumps the generation.
    None,
    /// May reach a non-hook import (which may synchronize): bump after it returns.
    BumpAfter,
    /// A tail call that may reach a non-hook import: made a plain call, bump, `return`.
    TailAsCall,
}

/// A rewritten body and where each input instruction went.
pub(crate) struct RewrittenBody {
    pub function: Function,
    /// `(offset in the new body, module-relative offset in the input)`, one per input
    /// instruction, in order; new-body offsets count from the locals declaration like
    /// `FunctionBody::range().start` does.
    pub entries: Vec<(u32, u32)>,
}

/// Rewrites the body of input function `func`; with `instrument` false it is only copied.
pub(crate) fn rewrite_body(
    ctx: &Context<'_>,
    body: &FunctionBody<'_>,
    func: u32,
    instrument: bool,
    sites: &mut Vec<Site>,
) -> Result<RewrittenBody, InstrumentError> {
    let mut remap = Remap;
    let mut locals = Vec::new();
    let mut declared: u64 = 0;
    for pair in body.get_locals_reader()? {
        let (count, ty) = pair?;
        declared += u64::from(count);
        let ty = remap
            .val_type(ty)
            .map_err(|e| InstrumentError::reencode("locals", e))?;
        locals.push((count, ty));
    }
    let base = u64::from(ctx.info.params_of(func)?) + declared;
    let base = u32::try_from(base).map_err(|_| {
        InstrumentError::Unsupported(format!("function {func} declares more than 2^32 locals"))
    })?;

    let mut rw = BodyRewriter {
        ctx,
        remap,
        scratch: Scratch::new(base),
        out: Vec::new(),
        sites,
        func,
        body_start: body.range().start,
        offset: 0,
    };
    let mut entries = Vec::new();
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        entries.push((rw.out.len() as u32, offset as u32));
        rw.offset = offset;
        if instrument {
            rw.instrument(op)?;
        } else {
            rw.uninstrumented(op)?;
        }
    }

    locals.extend(rw.scratch.types().map(|ty| (1, ty)));
    let mut function = Function::new(locals);
    let locals_len = function.byte_len() as u32;
    function.raw(rw.out);
    for entry in &mut entries {
        entry.0 += locals_len;
    }
    Ok(RewrittenBody { function, entries })
}

/// State while rewriting one body.
struct BodyRewriter<'c, 's> {
    ctx: &'c Context<'c>,
    remap: Remap,
    scratch: Scratch,
    /// Encoded instructions (without the locals declaration).
    out: Vec<u8>,
    sites: &'s mut Vec<Site>,
    func: u32,
    body_start: usize,
    /// Module-relative input offset of the instruction being rewritten.
    offset: usize,
}

impl BodyRewriter<'_, '_> {
    fn put(&mut self, i: I<'_>) {
        i.encode(&mut self.out);
    }

    /// Emits `op` itself, with indices remapped.
    fn copy(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        let ins = self
            .remap
            .instruction(op)
            .map_err(|e| InstrumentError::reencode("code", e))?;
        ins.encode(&mut self.out);
        Ok(())
    }

    /// Adds a site for the current instruction and returns its index.
    fn site(&mut self, kind: SiteKind) -> u32 {
        let index = self.sites.len() as u32;
        self.sites.push(Site {
            kind,
            func: self.func,
            offset: self.offset as u32,
            body_offset: (self.offset - self.body_start) as u32,
        });
        index
    }

    /// What `op` may do to the repeat filter's generation (always [`CallEffect::None`]
    /// without a filter). Any import other than the added hooks may synchronize (spawn, join,
    /// lock hooks, WASI); an indirect call may reach one through a table or a reference,
    /// unless the module gives no way to ([`ModuleInfo::imports_by_reference`]): then it
    /// reaches the module's own functions, which bump after their own import calls.
    fn call_effect(&self, op: &Operator<'_>) -> CallEffect {
        if self.ctx.buffer.filter.is_none() {
            return CallEffect::None;
        }
        let imported = |f: u32| f < self.ctx.info.imported_funcs;
        let by_reference = self.ctx.info.imports_by_reference;
        match *op {
            Operator::Call { function_index } if imported(function_index) => CallEffect::BumpAfter,
            Operator::CallIndirect { .. } | Operator::CallRef { .. } if by_reference => {
                CallEffect::BumpAfter
            }
            Operator::ReturnCall { function_index } if imported(function_index) => {
                CallEffect::TailAsCall
            }
            Operator::ReturnCallIndirect { .. } | Operator::ReturnCallRef { .. }
                if by_reference =>
            {
                CallEffect::TailAsCall
            }
            _ => CallEffect::None,
        }
    }

    /// A tail call that may reach an import, as `call; bump; return` (same types: a tail
    /// call's callee returns exactly the caller's results). The tail call's frame reuse is
    /// lost, which only matters for unbounded tail recursion through such calls.
    fn tail_as_call(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        let call = match op {
            Operator::ReturnCall { function_index } => Operator::Call { function_index },
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => Operator::CallIndirect {
                type_index,
                table_index,
            },
            Operator::ReturnCallRef { type_index } => Operator::CallRef { type_index },
            other => other,
        };
        self.copy(call)?;
        self.bump();
        self.put(I::Return);
        Ok(())
    }

    /// Hands a non-empty record buffer to the host before a draining hook, which then never
    /// reads the cursor itself (nothing in [`Scope::Blocking`], which logs no records).
    fn drain(&mut self) {
        if self.ctx.scope == Scope::Everything {
            self.ctx.buffer.emit_drain(&mut self.out);
        }
    }

    /// Starts a new repeat-filter generation (nothing without a filter).
    fn bump(&mut self) {
        self.ctx.buffer.emit_bump(&mut self.out);
    }

    /// A body copied without instrumentation still bumps the generation around calls that
    /// may reach an import, so instrumented code after them sees the synchronization.
    fn uninstrumented(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        match self.call_effect(&op) {
            CallEffect::None => self.copy(op),
            CallEffect::BumpAfter => {
                self.copy(op)?;
                self.bump();
                Ok(())
            }
            CallEffect::TailAsCall => self.tail_as_call(op),
        }
    }

    /// Whether `op` is a call that gets call-stack records: a direct call of anything but
    /// one of wasmgrind's own imports, or an indirect one. Tail calls replace the caller's
    /// frame (the caller's own `CallExit`, emitted by its caller after the call returns,
    /// pops it), so they get none.
    fn logs_call(&self, op: &Operator<'_>) -> bool {
        match *op {
            Operator::Call { function_index } => {
                !self.ctx.info.own_imports.contains(&function_index)
            }
            Operator::CallIndirect { .. } | Operator::CallRef { .. } => true,
            _ => false,
        }
    }

    fn instrument(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        match self.call_effect(&op) {
            CallEffect::None => {}
            CallEffect::TailAsCall => return self.tail_as_call(op),
            CallEffect::BumpAfter => {
                if self.ctx.scope == Scope::Blocking {
                    return self.uninstrumented(op);
                }
                if self.logs_call(&op) {
                    self.call(op)?;
                } else {
                    self.copy(op)?;
                }
                self.bump();
                return Ok(());
            }
        }
        if self.ctx.scope == Scope::Blocking {
            return self.instrument_blocking(op);
        }
        if self.logs_call(&op) {
            return self.call(op);
        }
        let Some(access) = classify(&op) else {
            return self.copy(op);
        };
        let target = self.ctx.target;
        if access == Access::Fence {
            let site = self.site(SiteKind::Fence);
            self.drain();
            self.put(I::I32Const(site as i32));
            self.put(I::Call(Hook::Fence.func_index()));
            self.bump();
            return self.copy(op);
        }
        let touches_target = match access {
            Access::Bulk { dst, src, .. } => {
                let (d, s) = (Some(dst) == target, Some(src) == target);
                if d != s {
                    return Err(InstrumentError::Unsupported(format!(
                        "memory.copy between the instrumented memory and another memory \
                         (at input offset {:#x})",
                        self.offset
                    )));
                }
                d
            }
            _ => access.memory() == target,
        };
        if !touches_target || target.is_none() {
            return self.copy(op);
        }
        match access {
            Access::Plain(plain) => self.plain(op, plain),
            Access::Atomic(atomic) => self.atomic(op, atomic, true),
            access @ (Access::Wait { .. } | Access::Notify { .. }) => {
                self.wait_or_notify(op, access)
            }
            Access::Bulk { op: bulk, .. } => self.bulk(op, bulk),
            Access::Fence => unreachable!("handled above"),
        }
    }

    /// [`Scope::Blocking`]: waits, notifies and the lock-shaped atomics of the
    /// instrumented memory; everything else is copied.
    fn instrument_blocking(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        let target = self.ctx.target;
        match classify(&op) {
            Some(access @ (Access::Wait { .. } | Access::Notify { .. }))
                if target.is_some() && access.memory() == target =>
            {
                self.wait_or_notify(op, access)
            }
            Some(Access::Atomic(atomic))
                if target == Some(atomic.memarg.memory)
                    && matches!(
                        atomic.op,
                        AtomicOp::Cmpxchg | AtomicOp::Xchg | AtomicOp::Store
                    ) =>
            {
                self.atomic(op, atomic, false)
            }
            _ => self.copy(op),
        }
    }

    /// `wait_begin`, the wait, `wait_end`; or `notify`, the notify.
    fn wait_or_notify(&mut self, op: Operator<'_>, access: Access) -> Result<(), InstrumentError> {
        match access {
            Access::Wait { memarg, ty, size } => {
                let site = self.site(SiteKind::Wait { size });
                let timeout = self.scratch.get(Role::Operand2, ValType::I64);
                let expected = self.scratch.get(Role::Operand, ty);
                let a = self.scratch.get(Role::Addr, ValType::I32);
                self.put(I::LocalSet(timeout));
                self.put(I::LocalSet(expected));
                self.put(I::LocalSet(a));
                let e = self.effective(a, memarg.offset);
                self.drain();
                self.put(I::I32Const(site as i32));
                self.put(I::LocalGet(e));
                self.put(I::LocalGet(timeout));
                self.put(I::Call(Hook::WaitBegin.func_index()));
                self.put(I::LocalGet(a));
                self.put(I::LocalGet(expected));
                self.put(I::LocalGet(timeout));
                self.copy(op)?;
                let r = self.scratch.get(Role::Result, ValType::I32);
                self.put(I::LocalTee(r));
                self.put(I::I32Const(site as i32));
                self.put(I::LocalGet(e));
                self.put(I::LocalGet(r));
                self.put(I::Call(Hook::WaitEnd.func_index()));
                self.bump();
                Ok(())
            }
            Access::Notify { memarg } => {
                let site = self.site(SiteKind::Notify);
                let count = self.scratch.get(Role::Operand, ValType::I32);
                let a = self.scratch.get(Role::Addr, ValType::I32);
                self.put(I::LocalSet(count));
                self.put(I::LocalSet(a));
                let e = self.effective(a, memarg.offset);
                self.drain();
                self.put(I::I32Const(site as i32));
                self.put(I::LocalGet(e));
                self.put(I::LocalGet(count));
                self.put(I::Call(Hook::Notify.func_index()));
                self.bump();
                self.put(I::LocalGet(a));
                self.put(I::LocalGet(count));
                self.copy(op)
            }
            _ => self.copy(op),
        }
    }

    /// `CallEnter` before, `CallExit` after: both leave the operand stack untouched.
    fn call(&mut self, op: Operator<'_>) -> Result<(), InstrumentError> {
        if !self.ctx.call_stacks {
            return self.copy(op);
        }
        let enter = self.site(SiteKind::CallEnter);
        let exit = self.site(SiteKind::CallExit);
        self.record(RecordAddr::Zero, enter);
        self.copy(op)?;
        self.record(RecordAddr::Zero, exit);
        Ok(())
    }

    fn record(&mut self, addr: RecordAddr, site: u32) {
        self.ctx
            .buffer
            .emit(&mut self.out, &mut self.scratch, addr, site);
    }

    /// `[addr (, above)]` → record → `[addr (, above)]` → the access.
    fn plain(&mut self, op: Operator<'_>, plain: Plain) -> Result<(), InstrumentError> {
        let size = plain.size;
        let kind = if plain.write {
            SiteKind::Write { size }
        } else {
            SiteKind::Read { size }
        };
        let offset = memarg_offset32(plain.memarg.offset, self.offset)?;
        let site = self.site(kind);
        let policy = self.ctx.policy(site);
        if policy == PlainPolicy::Skip {
            return self.copy(op);
        }
        let above = plain.above.map(|ty| self.scratch.get(Role::Operand, ty));
        let a = self.scratch.get(Role::Addr, ValType::I32);
        if let Some(x) = above {
            self.put(I::LocalSet(x));
        }
        self.put(I::LocalTee(a));
        match policy {
            PlainPolicy::Filter => {
                self.ctx
                    .buffer
                    .emit_filtered(&mut self.out, &mut self.scratch, a, offset, site)
            }
            PlainPolicy::Always | PlainPolicy::Skip => {
                self.record(RecordAddr::Local { local: a, offset }, site);
                // The host handles this access as synchronization.
                self.bump();
            }
        }
        if let Some(x) = above {
            self.put(I::LocalGet(x));
        }
        self.copy(op)
    }

    /// With `host_performs`: `atomic(site, ea, cursor, operand, expected)`, which performs
    /// the access on the host; if it reports that it did not (status 1), the instruction
    /// itself, then `atomic_end`. Without: the instruction, then
    /// `atomic_end(site, ea, result, operand, expected)`.
    fn atomic(
        &mut self,
        op: Operator<'_>,
        atomic: Atomic,
        host_performs: bool,
    ) -> Result<(), InstrumentError> {
        let Atomic {
            memarg,
            op: aop,
            size,
            ty,
        } = atomic;
        let site = self.site(SiteKind::Atomic { op: aop, size });
        let a = self.scratch.get(Role::Addr, ValType::I32);
        // Operands above the address, bottom to top.
        let operands: Vec<u32> = match aop {
            AtomicOp::Load => vec![],
            AtomicOp::Cmpxchg => vec![
                self.scratch.get(Role::Operand, ty),
                self.scratch.get(Role::Operand2, ty),
            ],
            _ => vec![self.scratch.get(Role::Operand, ty)],
        };
        for &local in operands.iter().rev() {
            self.put(I::LocalSet(local));
        }
        self.put(I::LocalSet(a));
        let e = self.effective(a, memarg.offset);
        let result = (aop != AtomicOp::Store).then(|| self.scratch.get(Role::Result, ty));
        let block = match result {
            Some(_) => BlockType::Result(ty),
            None => BlockType::Empty,
        };
        if host_performs {
            // One host call: it takes the records logged before the atomic (the cursor),
            // performs the access and reports it.
            self.put(I::I32Const(site as i32));
            self.put(I::LocalGet(e));
            self.ctx.buffer.emit_len(&mut self.out);
            self.push_operand_and_expected(aop, &operands, ty);
            self.put(I::Call(Hook::Atomic.func_index()));
            let status = self.scratch.get(Role::Status, ValType::I32);
            let wide = self.scratch.get(Role::Result, ValType::I64);
            self.put(I::LocalSet(status));
            self.put(I::LocalSet(wide));
            self.ctx.buffer.emit_reset(&mut self.out);
            self.put(I::LocalGet(status));
            // Not performed: misaligned or out of bounds (the instruction traps here) or
            // no shared memory on the host's side (it runs, and `atomic_end` reports it).
            self.put(I::If(block));
            self.execute_and_report(op, aop, site, a, e, &operands, result, ty)?;
            self.put(I::Else);
            if result.is_some() {
                self.put(I::LocalGet(wide));
                if ty == ValType::I32 {
                    self.put(I::I32WrapI64);
                }
            }
            self.put(I::End);
        } else {
            self.execute_and_report(op, aop, site, a, e, &operands, result, ty)?;
        }
        self.bump();
        Ok(())
    }

    /// The atomic instruction on its saved address and operands, then
    /// `atomic_end(site, ea, result, operand, expected)`; leaves the result on the stack.
    #[allow(clippy::too_many_arguments)]
    fn execute_and_report(
        &mut self,
        op: Operator<'_>,
        aop: AtomicOp,
        site: u32,
        a: u32,
        e: u32,
        operands: &[u32],
        result: Option<u32>,
        ty: ValType,
    ) -> Result<(), InstrumentError> {
        self.put(I::LocalGet(a));
        for &local in operands {
            self.put(I::LocalGet(local));
        }
        self.copy(op)?;
        if let Some(r) = result {
            self.put(I::LocalTee(r));
        }
        self.put(I::I32Const(site as i32));
        self.put(I::LocalGet(e));
        match result {
            Some(r) => self.get_as_i64(r, ty),
            None => self.put(I::I64Const(0)),
        }
        self.push_operand_and_expected(aop, operands, ty);
        self.put(I::Call(Hook::AtomicEnd.func_index()));
        Ok(())
    }

    /// Pushes the hooks' `operand` (stored value, rmw operand or cmpxchg replacement: the
    /// last operand) and `expected` (cmpxchg's expected value: the first), as i64, 0 when
    /// the instruction has none.
    fn push_operand_and_expected(&mut self, aop: AtomicOp, operands: &[u32], ty: ValType) {
        match operands.last() {
            Some(&x) => self.get_as_i64(x, ty),
            None => self.put(I::I64Const(0)),
        }
        match (aop, operands.first()) {
            (AtomicOp::Cmpxchg, Some(&x)) => self.get_as_i64(x, ty),
            _ => self.put(I::I64Const(0)),
        }
    }

    /// `[dst, src_or_value, len]` → `bulk(site, dst, src_or_value, len)` → the instruction.
    fn bulk(&mut self, op: Operator<'_>, bulk: BulkOp) -> Result<(), InstrumentError> {
        let site = self.site(SiteKind::Bulk { op: bulk });
        let len = self.scratch.get(Role::Operand2, ValType::I32);
        let src = self.scratch.get(Role::Operand, ValType::I32);
        let dst = self.scratch.get(Role::Addr, ValType::I32);
        self.put(I::LocalSet(len));
        self.put(I::LocalSet(src));
        self.put(I::LocalSet(dst));
        self.drain();
        self.put(I::I32Const(site as i32));
        for local in [dst, src, len] {
            self.get_as_i64(local, ValType::I32);
        }
        self.put(I::Call(Hook::Bulk.func_index()));
        for local in [dst, src, len] {
            self.put(I::LocalGet(local));
        }
        self.copy(op)
    }

    /// Sets the i64 effective-address local to `i64.extend_i32_u(a) + offset` and returns it.
    fn effective(&mut self, a: u32, offset: u64) -> u32 {
        let e = self.scratch.get(Role::Effective, ValType::I64);
        self.put(I::LocalGet(a));
        self.put(I::I64ExtendI32U);
        if offset != 0 {
            self.put(I::I64Const(offset as i64));
            self.put(I::I64Add);
        }
        self.put(I::LocalSet(e));
        e
    }

    /// Pushes local `x` of type `ty` (i32 or i64) as an i64, zero-extending an i32.
    fn get_as_i64(&mut self, x: u32, ty: ValType) {
        self.put(I::LocalGet(x));
        if ty == ValType::I32 {
            self.put(I::I64ExtendI32U);
        }
    }
}

/// A memarg offset of a 32-bit memory as the u32 it must be.
fn memarg_offset32(offset: u64, at: usize) -> Result<u32, InstrumentError> {
    u32::try_from(offset).map_err(|_| {
        InstrumentError::Unsupported(format!(
            "memory offset {offset:#x} does not fit a 32-bit memory (at input offset {at:#x})"
        ))
    })
}
