//! Lock misuse: unlocking what the thread does not hold, exiting with a lock held,
//! locking a held non-recursive lock again.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::frame::Frame;
use crate::lock_order::render_stack;

/// What went wrong with a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MisuseKind {
    /// Released a lock nobody held.
    UnlockNotHeld,
    /// Released a lock another thread holds.
    UnlockByOtherThread,
    /// The thread ended while holding the lock.
    ExitWhileHolding,
    /// Tried to acquire a (non-recursive) lock the thread already holds: a
    /// self-deadlock unless it is a try-lock.
    RecursiveLock,
}

impl MisuseKind {
    /// How reports title it.
    pub fn title(self) -> &'static str {
        match self {
            MisuseKind::UnlockNotHeld => "unlock of a lock not held",
            MisuseKind::UnlockByOtherThread => "unlock of a lock held by another thread",
            MisuseKind::ExitWhileHolding => "thread exited while holding a lock",
            MisuseKind::RecursiveLock => "recursive lock of a non-recursive mutex",
        }
    }

    /// Plural of [`MisuseKind::title`], for counts.
    pub fn title_plural(self) -> &'static str {
        match self {
            MisuseKind::UnlockNotHeld => "unlocks of a lock not held",
            MisuseKind::UnlockByOtherThread => "unlocks of a lock held by another thread",
            MisuseKind::ExitWhileHolding => "threads exited while holding a lock",
            MisuseKind::RecursiveLock => "recursive locks of a non-recursive mutex",
        }
    }
}

/// One misuse of the lock at `lock` by `thread`, at `stack`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockMisuse {
    /// Which misuse.
    pub misuse: MisuseKind,
    /// Address of the lock.
    pub lock: u32,
    /// The thread that misused it.
    pub thread: u32,
    /// Where: the unlock, the failed re-lock, or (exit) where the lock was acquired.
    pub stack: Vec<Frame>,
    /// The thread holding the lock then, if any (the misusing thread itself for
    /// `recursive_lock` and `exit_while_holding`).
    pub holder: Option<u32>,
    /// Where the holder acquired the lock, innermost first (empty if nobody held it).
    pub acquired_stack: Vec<Frame>,
}

/// The text body of a misuse report.
pub(crate) fn render_lock_misuse(s: &mut String, misuse: &LockMisuse) {
    let what = match misuse.misuse {
        MisuseKind::UnlockNotHeld | MisuseKind::UnlockByOtherThread => "Unlock",
        MisuseKind::ExitWhileHolding => "Exit",
        MisuseKind::RecursiveLock => "Lock",
    };
    let _ = writeln!(
        s,
        "  {what} of lock 0x{:08x} by thread {}:",
        misuse.lock, misuse.thread
    );
    if misuse.misuse == MisuseKind::ExitWhileHolding {
        let _ = writeln!(s, "    (thread exited; the lock was acquired at:)");
    }
    render_stack(s, &misuse.stack);
    match misuse.holder {
        Some(holder) if misuse.misuse != MisuseKind::ExitWhileHolding => {
            let _ = writeln!(
                s,
                "  Lock 0x{:08x} was acquired by thread {holder} at:",
                misuse.lock
            );
            render_stack(s, &misuse.acquired_stack);
        }
        Some(_) => {}
        None => {
            let _ = writeln!(s, "  Lock 0x{:08x} was not held by any thread", misuse.lock);
        }
    }
}
