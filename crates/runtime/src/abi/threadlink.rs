//! wasm_threadlink, the project's own thread ABI (DESIGN.md): `thread_create`,
//! `thread_join`, `panic` and the four lock-tracing hooks, all in module
//! `wasm_threadlink`. Errors go back to the guest as the shared error codes.

use wasm_threadlink_errors::ErrorCode;
use wasmtime::{Caller, Linker, WasmBacktrace};

use super::{os_spawn_failed, reserve_or_abort};
use crate::instrumentation::drain_caller;
use crate::program::{backtrace_frames, spawn_thread, ThreadCtx};
use crate::threads::{JoinError, ThreadEnd};
use crate::{LockHook, Outcome, RuntimeError};

const MODULE: &str = "wasm_threadlink";

pub(crate) fn add_to_linker(linker: &mut Linker<ThreadCtx>) -> Result<(), RuntimeError> {
    let err = |e| RuntimeError::wasmtime("adding wasm_threadlink to the linker", e);
    linker
        .func_wrap(MODULE, "thread_create", thread_create)
        .map_err(err)?;
    linker
        .func_wrap(MODULE, "thread_join", thread_join)
        .map_err(err)?;
    linker
        .func_wrap(MODULE, "panic", guest_panic)
        .map_err(err)?;
    for (name, hook) in [
        ("start_lock", LockHook::StartLock),
        ("finish_lock", LockHook::FinishLock),
        ("start_unlock", LockHook::StartUnlock),
        ("finish_unlock", LockHook::FinishUnlock),
    ] {
        linker
            .func_wrap(
                MODULE,
                name,
                move |mut caller: Caller<'_, ThreadCtx>, addr: i32| {
                    drain_caller(&mut caller);
                    caller.data_mut().monitor.lock_hook(hook, addr as u32);
                },
            )
            .map_err(err)?;
    }
    Ok(())
}

/// `thread_create(tid_ptr, start_routine) -> errno`: writes the new id (u32, little
/// endian) to `tid_ptr`, then runs `thread_start(start_routine)` in a new instance.
fn thread_create(mut caller: Caller<'_, ThreadCtx>, tid_ptr: i32, start_routine: i32) -> i32 {
    let Ok(tid_ptr) = usize::try_from(tid_ptr) else {
        return ErrorCode::TidPointerConversion as i32;
    };
    let Some(memory) = caller.data().program.memory.clone() else {
        return ErrorCode::RuntimeContextFailure as i32;
    };
    let data = memory.data();
    if tid_ptr.checked_add(4).is_none_or(|end| end > data.len()) {
        return ErrorCode::OutOfBoundsMemoryAccess as i32;
    }
    let program = caller.data().program.clone();
    let parent = caller.data().tid;
    let slot = reserve_or_abort(&program, parent, true);
    let tid = slot.id;
    for (i, byte) in tid.to_le_bytes().into_iter().enumerate() {
        // SAFETY: `data[tid_ptr..tid_ptr + 4]` is in bounds (checked above); the cells
        // belong to a shared memory, where unsynchronized guest accesses are the guest's
        // own race, and a byte write through the `UnsafeCell` is always a valid value.
        unsafe { *data[tid_ptr + i].get() = byte };
    }
    drain_caller(&mut caller);
    caller.data_mut().monitor.fork(tid);
    let spawned = spawn_thread(&program, slot, move |store, instance| {
        let start = instance.get_typed_func::<i32, ()>(&mut *store, "thread_start")?;
        start.call(&mut *store, start_routine)?;
        if let Ok(destroy) =
            instance.get_typed_func::<(), ()>(&mut *store, "__wasmgrind_thread_destroy")
        {
            destroy.call(&mut *store, ())?;
        }
        Ok(())
    });
    if let Err(e) = spawned {
        os_spawn_failed(&program, e);
    }
    ErrorCode::NoError as i32
}

/// `panic(errno)`: ends every thread; the description of `errno` is printed.
fn guest_panic(caller: Caller<'_, ThreadCtx>, code: i32) {
    let ctx = caller.data();
    ctx.program.termination.terminate(Outcome::Panicked {
        thread: ctx.tid,
        code: code as u32,
    })
}

/// `thread_join(tid) -> errno`: blocks until the thread ended.
fn thread_join(mut caller: Caller<'_, ThreadCtx>, tid: i32) -> i32 {
    let program = caller.data().program.clone();
    let joiner = caller.data().tid;
    let Ok(tid) = u32::try_from(tid) else {
        return ErrorCode::ThreadNotFound as i32;
    };
    drain_caller(&mut caller);
    let stack = backtrace_frames(&program, &WasmBacktrace::capture(&caller));
    program.blocking.join_begin(joiner, tid, stack);
    let joined = program.threads.join(joiner, tid);
    program.blocking.running(joiner);
    match joined {
        Ok(ThreadEnd::Finished) => {
            caller.data_mut().monitor.join(tid);
            ErrorCode::NoError as i32
        }
        Ok(ThreadEnd::Failed) => ErrorCode::JoinFailure as i32,
        Err(JoinError::Unknown) => ErrorCode::ThreadNotFound as i32,
        Err(JoinError::SelfJoin) => ErrorCode::JoinFailure as i32,
    }
}
