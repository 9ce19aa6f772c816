//! The program's threads: id allocation in spawn order, the live-thread limit, and
//! the completion state threadlink `thread_join` waits on.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use crate::ThreadId;

/// How a thread ended, as `thread_join` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThreadEnd {
    Finished,
    Failed,
}

/// One thread's completion, set once by the thread itself.
#[derive(Default)]
struct Completion {
    end: Mutex<Option<ThreadEnd>>,
    done: Condvar,
}

/// Why a join found nothing to wait for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JoinError {
    /// Never spawned, or already joined.
    Unknown,
    /// A thread cannot join itself.
    SelfJoin,
}

#[derive(Default)]
struct Table {
    next_id: ThreadId,
    live: u32,
    /// Completions of spawned threads not yet joined (threadlink) — wasi-threads
    /// threads are never joined by the host, so theirs are dropped when they end.
    joinable: HashMap<ThreadId, Arc<Completion>>,
}

/// Thread bookkeeping shared by every thread of a program.
pub(crate) struct Threads {
    max_live: u32,
    table: Mutex<Table>,
    /// Signalled whenever a thread gives its slot back.
    slot_freed: Condvar,
}

/// How long a spawn at the limit waits for a slot. A guest's own join returns as soon
/// as the joined thread's wasm finished, a moment before the host has torn that
/// thread down and given its slot back; the limit must not count such a thread.
const SLOT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// A reserved thread id; dropping it without `finish` would leak a live slot, so the
/// spawning code always finishes it (also on a failed OS spawn).
pub(crate) struct Slot {
    pub id: ThreadId,
    completion: Option<Arc<Completion>>,
}

impl Threads {
    /// The main thread (id 0) is live from the start.
    pub fn new(max_live: u32) -> Self {
        Threads {
            max_live,
            slot_freed: Condvar::new(),
            table: Mutex::new(Table {
                next_id: 1,
                live: 1,
                ..Table::default()
            }),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // The table is consistent after every statement, so a panic elsewhere does not taint it.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves the next id, or `None` when `max_live` threads are alive.
    pub fn reserve(&self, joinable: bool) -> Option<Slot> {
        let deadline = std::time::Instant::now() + SLOT_GRACE;
        let mut table = self.table();
        while table.live >= self.max_live {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            table = self
                .slot_freed
                .wait_timeout(table, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        table.live += 1;
        let id = table.next_id;
        table.next_id += 1;
        let completion = joinable.then(|| {
            let c = Arc::new(Completion::default());
            table.joinable.insert(id, c.clone());
            c
        });
        Some(Slot { id, completion })
    }

    /// Marks the slot's thread ended, waking its joiner.
    pub fn finish(&self, slot: Slot, end: ThreadEnd) {
        self.table().live -= 1;
        self.slot_freed.notify_one();
        if let Some(c) = slot.completion {
            *c.end.lock().unwrap_or_else(|p| p.into_inner()) = Some(end);
            c.done.notify_all();
        }
    }

    /// Blocks until thread `id` ended; an id can be joined once.
    pub fn join(&self, joiner: ThreadId, id: ThreadId) -> Result<ThreadEnd, JoinError> {
        if joiner == id {
            return Err(JoinError::SelfJoin);
        }
        let completion = self
            .table()
            .joinable
            .remove(&id)
            .ok_or(JoinError::Unknown)?;
        let mut end = completion.end.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(end) = *end {
                return Ok(end);
            }
            end = completion.done.wait(end).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn max_live(&self) -> u32 {
        self.max_live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_spawn_order_and_limit() {
        let threads = Threads::new(3);
        let a = threads.reserve(false).unwrap();
        let b = threads.reserve(false).unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert!(threads.reserve(false).is_none(), "main + 2 = limit of 3");
        threads.finish(a, ThreadEnd::Finished);
        let c = threads.reserve(false).unwrap();
        assert_eq!(c.id, 3, "ids are never reused");
    }

    #[test]
    fn a_spawn_at_the_limit_waits_for_a_thread_that_is_ending() {
        let threads = Arc::new(Threads::new(2));
        let ending = threads.reserve(false).unwrap();
        let t = threads.clone();
        let teardown = std::thread::spawn(move || t.finish(ending, ThreadEnd::Finished));
        let next = threads.reserve(false);
        teardown.join().unwrap();
        assert!(next.is_some(), "the ending thread's slot is handed over");
    }

    #[test]
    fn join_waits_for_the_end_and_only_once() {
        let threads = Arc::new(Threads::new(8));
        let slot = threads.reserve(true).unwrap();
        let id = slot.id;
        let t = threads.clone();
        let worker = std::thread::spawn(move || t.finish(slot, ThreadEnd::Failed));
        assert_eq!(threads.join(0, id), Ok(ThreadEnd::Failed));
        worker.join().unwrap();
        assert_eq!(threads.join(0, id), Err(JoinError::Unknown));
        assert_eq!(threads.join(0, 99), Err(JoinError::Unknown));
        assert_eq!(threads.join(5, 5), Err(JoinError::SelfJoin));
    }
}
