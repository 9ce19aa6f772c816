//! A program wasmgrind stopped because it hung: a deadlock (threads waiting on each
//! other in a cycle), every thread blocked without a cycle (e.g. a lost wakeup), or a
//! run past `--timeout`. Its model and its text rendering.
//!
//! JSON form (`kind` = `hang`): `hang` (`deadlock`, `all_blocked` or `timeout`),
//! `cycle` (thread ids, each waiting on the next), `timeout_ms` (or null), and
//! `threads`: per live thread `{thread, state, stack, holds}` where `state` is an
//! object with `type` `running`, `waiting` (`addr`, `owner` or null, `timed`) or
//! `joining` (`thread`), and `holds` the addresses of the lock words it holds.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::frame::Frame;

/// Why the program was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangKind {
    /// Every thread blocked, some waiting on each other in a cycle.
    Deadlock,
    /// Every thread blocked, no cycle (e.g. a lost wakeup).
    AllBlocked,
    /// The run went past `--timeout`.
    Timeout,
}

/// What a thread was doing when the program was stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadState {
    /// Executing.
    Running,
    /// In `memory.atomic.wait` on `addr`; `owner` holds that lock word, if known.
    Waiting {
        addr: u64,
        owner: Option<u32>,
        /// The wait has a timeout.
        timed: bool,
    },
    /// Joining `thread`.
    Joining { thread: u32 },
}

/// One live thread of a hung program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HungThread {
    pub thread: u32,
    pub state: ThreadState,
    /// Call stack, innermost first.
    pub stack: Vec<Frame>,
    /// Lock words the thread holds.
    pub holds: Vec<u64>,
}

/// A hung program: every live thread's state, and the cycle for a deadlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hang {
    pub hang: HangKind,
    /// Threads of the deadlock cycle, each waiting on the next (the last on the first).
    pub cycle: Vec<u32>,
    /// The limit of a timeout, in milliseconds.
    pub timeout_ms: Option<u64>,
    pub threads: Vec<HungThread>,
}

impl Hang {
    /// Title as the report's `WARNING` line prints it.
    pub fn title(&self) -> &'static str {
        match self.hang {
            HangKind::Deadlock => "deadlock",
            HangKind::AllBlocked => "hang (all threads blocked, no cycle)",
            HangKind::Timeout => "timeout",
        }
    }

    /// Plural of [`Hang::title`].
    pub fn title_plural(&self) -> &'static str {
        match self.hang {
            HangKind::Deadlock => "deadlocks",
            HangKind::AllBlocked => "hangs",
            HangKind::Timeout => "timeouts",
        }
    }

    /// The stack a summary points at: for a timeout the first running thread; the
    /// first thread of the cycle; else the last blocked thread (the main thread, first,
    /// is usually just joining the others); else the first thread with a stack.
    pub fn primary_stack(&self) -> &[Frame] {
        let by_id = |id: u32| self.threads.iter().find(|t| t.thread == id);
        let running = || {
            self.threads
                .iter()
                .find(|t| t.state == ThreadState::Running && !t.stack.is_empty())
        };
        (if self.hang == HangKind::Timeout {
            running()
        } else {
            None
        })
        .or_else(|| self.cycle.first().and_then(|&t| by_id(t)))
        .or_else(|| {
            self.threads
                .iter()
                .rev()
                .find(|t| t.state != ThreadState::Running && !t.stack.is_empty())
        })
        .or_else(|| self.threads.iter().find(|t| !t.stack.is_empty()))
        .map_or(&[], |t| &t.stack)
    }

    /// Every frame of every thread.
    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.threads.iter().flat_map(|t| t.stack.iter())
    }
}

/// The body of the text report (between the `WARNING` and `SUMMARY` lines).
pub(crate) fn render_hang(s: &mut String, hang: &Hang) {
    // Writing to a String cannot fail.
    match hang.hang {
        HangKind::Deadlock => {
            let mut cycle: Vec<String> = hang.cycle.iter().map(|t| format!("thread {t}")).collect();
            if let Some(first) = cycle.first().cloned() {
                cycle.push(first);
            }
            let _ = writeln!(s, "  Cycle: {}", cycle.join(" -> "));
        }
        HangKind::AllBlocked => {
            let _ = writeln!(s, "  All threads blocked, no cycle: nothing can wake them");
        }
        HangKind::Timeout => {
            let ms = hang.timeout_ms.unwrap_or_default();
            let _ = writeln!(s, "  The program ran longer than {} s", ms as f64 / 1000.0);
        }
    }
    for t in &hang.threads {
        let what = match &t.state {
            ThreadState::Running => "is running".to_string(),
            ThreadState::Waiting { addr, owner, timed } => {
                let mut w = format!("waits on 0x{addr:08x}");
                if let Some(owner) = owner {
                    let _ = write!(w, " held by thread {owner}");
                }
                if *timed {
                    w.push_str(" (with a timeout)");
                }
                w
            }
            ThreadState::Joining { thread } => format!("joins thread {thread}"),
        };
        let _ = writeln!(s, "  Thread {} {what}:", t.thread);
        if t.stack.is_empty() {
            let _ = writeln!(s, "    <no stack>");
        }
        for (i, frame) in t.stack.iter().enumerate() {
            let _ = writeln!(s, "    #{i} {frame}");
        }
        if !t.holds.is_empty() {
            let holds: Vec<String> = t.holds.iter().map(|a| format!("0x{a:08x}")).collect();
            let _ = writeln!(s, "    holds locks {}", holds.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, TextRenderer};

    fn frame(function: &str, file: &str, line: u32) -> Frame {
        Frame {
            function: Some(function.to_string()),
            file: Some(file.to_string()),
            line: Some(line),
            ..Frame::default()
        }
    }

    fn deadlock() -> Hang {
        Hang {
            hang: HangKind::Deadlock,
            cycle: vec![1, 2],
            timeout_ms: None,
            threads: vec![
                HungThread {
                    thread: 0,
                    state: ThreadState::Waiting {
                        addr: 0x50,
                        owner: None,
                        timed: false,
                    },
                    stack: vec![frame("main", "src/main.rs", 30)],
                    holds: vec![],
                },
                HungThread {
                    thread: 1,
                    state: ThreadState::Waiting {
                        addr: 0x20,
                        owner: Some(2),
                        timed: false,
                    },
                    stack: vec![frame("a", "src/main.rs", 12)],
                    holds: vec![0x10],
                },
                HungThread {
                    thread: 2,
                    state: ThreadState::Waiting {
                        addr: 0x10,
                        owner: Some(1),
                        timed: false,
                    },
                    stack: vec![frame("b", "src/main.rs", 20)],
                    holds: vec![0x20],
                },
            ],
        }
    }

    #[test]
    fn text_names_the_cycle_each_wait_and_the_held_locks() {
        let text = TextRenderer::new(7).render(&Finding::Hang(deadlock()));
        assert!(
            text.contains("WARNING: wasmgrind: deadlock (pid 7)"),
            "{text}"
        );
        assert!(
            text.contains("Cycle: thread 1 -> thread 2 -> thread 1"),
            "{text}"
        );
        assert!(
            text.contains("Thread 1 waits on 0x00000020 held by thread 2:"),
            "{text}"
        );
        assert!(text.contains("holds locks 0x00000010"), "{text}");
        assert!(
            text.contains("SUMMARY: wasmgrind: deadlock src/main.rs:12"),
            "{text}"
        );
    }

    #[test]
    fn json_round_trips_and_names_the_kind() {
        let finding = Finding::Hang(deadlock());
        let value = crate::to_json_value(&finding).unwrap();
        assert_eq!(value["kind"], "hang");
        assert_eq!(value["hang"], "deadlock");
        assert_eq!(value["threads"][1]["state"]["owner"], 2);
        let back: Finding = serde_json::from_value(value).unwrap();
        assert_eq!(back, finding);
    }

    #[test]
    fn lost_wakeup_summary_points_at_a_blocked_thread() {
        let mut hang = deadlock();
        hang.hang = HangKind::AllBlocked;
        hang.cycle.clear();
        let finding = Finding::Hang(hang);
        assert_eq!(
            finding.summary(),
            "hang (all threads blocked, no cycle) src/main.rs:20 in b"
        );
    }
}
