//! What the runtime knows about a program it stopped because it hung: every live
//! thread's state (what it waits on, the locks it holds, its wasm stack) and, for a
//! deadlock, the cycle of threads waiting on each other.

use crate::{ThreadId, TrapFrame};

/// Why the runtime stopped a hung program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangKind {
    /// Every live thread is blocked and some of them wait on each other in a cycle.
    Deadlock,
    /// Every live thread is blocked but there is no cycle (e.g. a lost wakeup: a
    /// condition variable waited on after its only notify).
    AllBlocked,
    /// `--timeout` elapsed (livelock, infinite loop, or just too slow).
    Timeout,
}

/// What a thread was doing when the program was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadActivity {
    /// Executing (wasm or a host call other than a wait or join).
    Running,
    /// In `memory.atomic.wait` on `addr`. `owner` is the thread holding the lock word
    /// at `addr` when one is known (it took it with a cmpxchg/xchg from 0).
    Waiting {
        addr: u64,
        owner: Option<ThreadId>,
        /// The wait has a timeout (such a thread is not counted as blocked).
        timed: bool,
    },
    /// In threadlink `thread_join(thread)`.
    Joining { thread: ThreadId },
}

/// One live thread of a hung program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadHang {
    pub thread: ThreadId,
    pub activity: ThreadActivity,
    /// Its wasm call stack, innermost first (empty when it could not be captured).
    pub stack: Vec<TrapFrame>,
    /// Addresses of the lock words it holds (inferred from atomics) that some thread
    /// waits on, ascending.
    pub holds: Vec<u64>,
}

/// The state of a program the runtime stopped because it hung.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangReport {
    pub kind: HangKind,
    /// Every live thread, by id.
    pub threads: Vec<ThreadHang>,
    /// For a deadlock, the threads of the cycle in wait order: each waits on the next,
    /// the last on the first. Empty otherwise.
    pub cycle: Vec<ThreadId>,
    /// For a timeout, the limit in milliseconds.
    pub timeout_ms: Option<u64>,
}

impl HangReport {
    /// One line for the runtime's plain diagnostic (the CLI renders the full report).
    pub fn headline(&self) -> String {
        match self.kind {
            HangKind::Deadlock => {
                let cycle: Vec<String> = self.cycle.iter().map(|t| format!("thread {t}")).collect();
                format!("deadlock: {} wait on each other", cycle.join(" -> "))
            }
            HangKind::AllBlocked => "all threads blocked, no cycle".to_string(),
            HangKind::Timeout => format!(
                "timeout: the program ran longer than {} s",
                self.timeout_ms.unwrap_or_default() as f64 / 1000.0
            ),
        }
    }
}
