//! wasi-threads: `wasi::thread-spawn(start_arg) -> tid` starts a new instance on a
//! new OS thread and calls its export `wasi_thread_start(tid, start_arg)`.

use wasmtime::{Caller, Linker};

use super::{os_spawn_failed, reserve_or_abort};
use crate::instrumentation::drain_caller;
use crate::program::{spawn_thread, ThreadCtx};
use crate::RuntimeError;

pub(crate) fn add_to_linker(linker: &mut Linker<ThreadCtx>) -> Result<(), RuntimeError> {
    linker
        .func_wrap(
            "wasi",
            "thread-spawn",
            |mut caller: Caller<'_, ThreadCtx>, start_arg: i32| -> i32 {
                let program = caller.data().program.clone();
                let parent = caller.data().tid;
                let slot = reserve_or_abort(&program, parent, false);
                let tid = slot.id;
                drain_caller(&mut caller);
                caller.data_mut().monitor.fork(tid);
                let spawned = spawn_thread(&program, slot, move |store, instance| {
                    let start = instance
                        .get_typed_func::<(i32, i32), ()>(&mut *store, "wasi_thread_start")?;
                    // wasi-threads ids are positive i32s; ours start at 1 in spawn order.
                    start.call(&mut *store, (tid as i32, start_arg))
                });
                if let Err(e) = spawned {
                    os_spawn_failed(&program, e);
                }
                tid as i32
            },
        )
        .map_err(|e| RuntimeError::wasmtime("adding wasi-threads to the linker", e))?;
    Ok(())
}
