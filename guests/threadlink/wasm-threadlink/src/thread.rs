//! Spawning and joining threads with typed results.

use std::cell::UnsafeCell;
use std::sync::Arc;

use wasm_threadlink_errors::ErrorCode;

use crate::{check, ffi};

/// What `thread_start` receives: the boxed closure to run on the new thread.
pub(crate) type StartRoutine = Box<dyn FnOnce() + Send + 'static>;

/// Where a thread leaves its result for the joiner.
struct Packet<T> {
    result: UnsafeCell<Option<T>>,
}

// SAFETY: the child writes `result` once, before dropping its `Arc`; the parent reads it
// only after `thread_join` returned (the host orders the child's end before the join's
// return) and after `Arc::try_unwrap` proved it holds the last reference.
unsafe impl<T: Send> Sync for Packet<T> {}

/// An owned permission to join a thread and take its result.
pub struct JoinHandle<T> {
    tid: u32,
    packet: Arc<Packet<T>>,
}

impl<T> JoinHandle<T> {
    /// The thread's id (threads are numbered in spawn order; the main thread is 0).
    pub fn id(&self) -> u32 {
        self.tid
    }

    /// Waits for the thread and returns its result: the host's error if joining failed,
    /// [`ErrorCode::SeveralResultReferences`] if the result is still shared,
    /// [`ErrorCode::NoResultAfterJoin`] if the thread left none.
    pub fn join(self) -> Result<T, ErrorCode> {
        join_id(self.tid)?;
        let packet =
            Arc::try_unwrap(self.packet).map_err(|_| ErrorCode::SeveralResultReferences)?;
        packet
            .result
            .into_inner()
            .ok_or(ErrorCode::NoResultAfterJoin)
    }
}

/// Spawns a thread running `f`; its result is returned by [`JoinHandle::join`].
pub fn spawn<F, T>(f: F) -> Result<JoinHandle<T>, ErrorCode>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let packet = Arc::new(Packet {
        result: UnsafeCell::new(None),
    });
    let theirs = Arc::clone(&packet);
    let main: StartRoutine = Box::new(move || {
        let result = f();
        // SAFETY: only this closure writes the packet, once, and the joiner reads it only
        // after this thread finished (see `Packet`'s Sync impl).
        unsafe { *theirs.result.get() = Some(result) };
        drop(theirs);
    });
    let start_routine = Box::into_raw(Box::new(main));
    let mut tid = 0u32;
    // SAFETY: `tid` is a valid place for the host to write the id; `start_routine` is a
    // leaked box that `thread_start` takes ownership of in the new thread.
    let code = unsafe { ffi::thread_create(&mut tid, start_routine.cast()) };
    if let Err(err) = check(code) {
        // SAFETY: the host reported failure, so no thread took ownership of the box.
        drop(unsafe { Box::from_raw(start_routine) });
        return Err(err);
    }
    Ok(JoinHandle { tid, packet })
}

/// Joins a thread by raw id, without taking a result (for threads spawned elsewhere or
/// to probe the host's error codes).
pub fn join_id(tid: u32) -> Result<(), ErrorCode> {
    // SAFETY: `thread_join` takes a plain integer and has no memory-safety preconditions.
    check(unsafe { ffi::thread_join(tid) })
}
