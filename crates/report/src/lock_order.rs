//! Lock-order inversions (potential deadlocks): a cycle in the order in which
//! threads nest their locks, like Helgrind's "lock order violated".

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::frame::Frame;

/// A cycle `L1 → L2 → … → L1` of the lock-order graph whose edges were taken by
/// threads that could have been in those critical sections at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOrderInversion {
    /// The cycle's edges in order: each edge's `acquired` is the next one's `held`.
    pub cycle: Vec<LockOrderEdge>,
}

/// One edge: `thread` acquired lock `acquired` while holding lock `held`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockOrderEdge {
    /// wasmgrind thread id.
    pub thread: u32,
    /// Address of the lock already held.
    pub held: u32,
    /// Address of the lock acquired.
    pub acquired: u32,
    /// Where `held` was acquired, innermost first.
    pub held_stack: Vec<Frame>,
    /// Where `acquired` was acquired, innermost first.
    pub acquired_stack: Vec<Frame>,
    /// How `held` is held, when it is a reader-writer lock (absent for a mutex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_mode: Option<RwMode>,
    /// How `acquired` was asked for, when it is a reader-writer lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquired_mode: Option<RwMode>,
}

/// How a thread holds or asks for a reader-writer lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RwMode {
    Read,
    Write,
}

/// ` (read)` or ` (write)` after a reader-writer lock's address; nothing for a mutex.
fn mode_suffix(mode: Option<RwMode>) -> &'static str {
    match mode {
        None => "",
        Some(RwMode::Read) => " (read)",
        Some(RwMode::Write) => " (write)",
    }
}

impl LockOrderInversion {
    /// The stack the summary points at: the acquisition closing the cycle's first edge.
    pub fn primary_stack(&self) -> &[Frame] {
        self.cycle
            .first()
            .map(|e| e.acquired_stack.as_slice())
            .unwrap_or(&[])
    }

    /// Every frame of every stack.
    pub fn frames(&self) -> impl Iterator<Item = &Frame> {
        self.cycle
            .iter()
            .flat_map(|e| e.held_stack.iter().chain(e.acquired_stack.iter()))
    }
}

/// The text body: the cycle, then per edge both acquisition stacks.
pub(crate) fn render_lock_order(s: &mut String, inversion: &LockOrderInversion) {
    let mut cycle: Vec<String> = inversion
        .cycle
        .iter()
        .map(|e| format!("0x{:08x}", e.held))
        .collect();
    if let Some(first) = cycle.first().cloned() {
        cycle.push(first);
    }
    let _ = writeln!(s, "  Cycle in lock order graph: {}", cycle.join(" => "));
    for edge in &inversion.cycle {
        let (acquired_mode, held_mode) =
            (mode_suffix(edge.acquired_mode), mode_suffix(edge.held_mode));
        let _ = writeln!(
            s,
            "  Thread {} acquired lock 0x{:08x}{acquired_mode} while holding lock 0x{:08x}{held_mode}:",
            edge.thread, edge.acquired, edge.held
        );
        render_stack(s, &edge.acquired_stack);
        let _ = writeln!(
            s,
            "  Lock 0x{:08x} was acquired by thread {}{held_mode} at:",
            edge.held, edge.thread
        );
        render_stack(s, &edge.held_stack);
    }
}

/// A stack as reports print it, `#i frame` per line.
pub(crate) fn render_stack(s: &mut String, stack: &[Frame]) {
    if stack.is_empty() {
        let _ = writeln!(s, "    <empty stack>");
    }
    for (i, frame) in stack.iter().enumerate() {
        let _ = writeln!(s, "    #{i} {frame}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(held_mode: Option<RwMode>, acquired_mode: Option<RwMode>) -> LockOrderEdge {
        LockOrderEdge {
            thread: 1,
            held: 0x10,
            acquired: 0x20,
            held_stack: Vec::new(),
            acquired_stack: Vec::new(),
            held_mode,
            acquired_mode,
        }
    }

    #[test]
    fn rwlock_modes_show_in_text_and_json_and_mutexes_have_none() {
        let inversion = LockOrderInversion {
            cycle: vec![
                edge(Some(RwMode::Write), None),
                edge(None, Some(RwMode::Read)),
            ],
        };
        let mut text = String::new();
        render_lock_order(&mut text, &inversion);
        assert!(
            text.contains("acquired lock 0x00000020 while holding lock 0x00000010 (write):"),
            "{text}"
        );
        assert!(
            text.contains("was acquired by thread 1 (write) at:"),
            "{text}"
        );
        assert!(
            text.contains("acquired lock 0x00000020 (read) while holding lock 0x00000010:"),
            "{text}"
        );
        let json = serde_json::to_value(&inversion).unwrap();
        assert_eq!(json["cycle"][0]["held_mode"], "write");
        assert_eq!(json["cycle"][1]["acquired_mode"], "read");
        let mutex = serde_json::to_value(edge(None, None)).unwrap();
        assert!(mutex.get("held_mode").is_none() && mutex.get("acquired_mode").is_none());
        // Reports written before the modes existed still read.
        let old: LockOrderEdge = serde_json::from_value(serde_json::json!({
            "thread": 1, "held": 16, "acquired": 32, "held_stack": [], "acquired_stack": []
        }))
        .unwrap();
        assert_eq!(old, edge(None, None));
    }
}
