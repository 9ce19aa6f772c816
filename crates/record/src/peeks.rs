//! The C library's peeks at its own lock words.
//!
//! musl's stdio reads a `FILE`'s lock word with a plain load to see whether it must
//! lock at all (`FLOCK`), then takes the lock in `__lockfile`, whose accesses are the
//! C library's synchronization; `putc` peeks the same way before its compare-exchange.
//! The peek races, by the letter, with another thread's unlock, yet it is the
//! library's design, which `check` does not report. A trace records such a read as an
//! atomic read when, within [`WINDOW`] plain accesses of its thread, the library's
//! own synchronization on the same word follows it with nothing else in between.
//!
//! So a thread's events from such a *candidate* read on are held back until that is
//! known: the next synchronization of the thread (or the window running out) settles
//! them, and they are written in program order, before the event that settled them.
//! Only plain accesses are ever held, so no release is written late.

use std::collections::VecDeque;

use wasmgrind_trace::Op;

use crate::locks::LockKey;
use crate::recorder::Pending;

/// Plain accesses after a candidate read within which the library's synchronization
/// on its word must follow (musl's peeks are one call or a few loads away from it).
pub const WINDOW: u32 = 16;

/// One candidate read among the held events (every held event after it is a plain
/// access, so their number is its age).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    /// Its index in the held events.
    index: usize,
    /// The word it read.
    addr: u64,
}

/// A thread's held events and the candidate reads among them.
#[derive(Debug, Default)]
pub struct Peeks {
    /// Held events, program order, from the oldest live candidate on (plain accesses
    /// only, between two calls of [`Peeks::take_settled`]).
    held: Vec<Pending>,
    /// Live candidates, oldest first.
    candidates: VecDeque<Candidate>,
}

impl Peeks {
    /// Appends a plain access; `candidate` when it is a read the C library made
    /// outside its synchronization code, at `addr`. With nothing held and no
    /// candidate (a program's own accesses, nearly all of them) it goes straight to
    /// `out`, to be written now.
    pub fn push_plain(&mut self, event: Pending, candidate: Option<u64>, out: &mut Vec<Pending>) {
        if candidate.is_none() && self.held.is_empty() {
            out.push(event);
            return;
        }
        let len = self.held.len();
        while self
            .candidates
            .front()
            .is_some_and(|c| len - c.index > WINDOW as usize)
        {
            self.candidates.pop_front();
        }
        if let Some(addr) = candidate {
            self.candidates.push_back(Candidate { index: len, addr });
        }
        self.held.push(event);
    }

    /// The thread synchronizes next: on the word at `addr` through the C library's
    /// own code (`Some`), or otherwise (`None`). The candidates that read that word
    /// become atomic reads (`acq(atomic@addr) r rel(atomic@addr)`), every other
    /// candidate stays the plain read it was, and the held events are appended to
    /// `out`, before whatever the caller adds for the event itself.
    pub fn settle(&mut self, library_sync_on: Option<u64>, out: &mut Vec<Pending>) {
        if let Some(addr) = library_sync_on {
            // Back to front, so that inserting keeps the earlier indices valid.
            for c in self.candidates.iter().rev().filter(|c| c.addr == addr) {
                let site = self.held[c.index].site;
                let key = LockKey::atomic(addr);
                self.held
                    .insert(c.index + 1, Pending::lock(Op::Release, key, site));
                self.held
                    .insert(c.index, Pending::lock(Op::Acquire, key, site));
            }
        }
        self.candidates.clear();
        out.append(&mut self.held);
    }

    /// Moves the held events that no live candidate precedes to `out` (to be written
    /// now), keeping the rest held.
    pub fn take_settled(&mut self, out: &mut Vec<Pending>) {
        let keep_from = self.candidates.front().map_or(self.held.len(), |c| c.index);
        out.extend(self.held.drain(..keep_from));
        for c in &mut self.candidates {
            c.index -= keep_from;
        }
    }

    /// Events held (for tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Target;

    fn read(addr: u64) -> Pending {
        Pending::variable(Op::Read, addr, 4, 7)
    }

    /// The events as (op, address or lock key's address) pairs.
    fn ops(events: &[Pending]) -> Vec<(Op, u64)> {
        events
            .iter()
            .map(|p| match p.target {
                Target::Variable { address, .. } => (p.op, address),
                Target::Lock(key) => (p.op, key.address),
                Target::Thread(t) => (p.op, t.into()),
            })
            .collect()
    }

    #[test]
    fn a_peek_followed_by_the_librarys_lock_on_its_word_becomes_atomic() {
        let mut peeks = Peeks::default();
        let mut out = Vec::new();
        peeks.push_plain(read(0x10), None, &mut out);
        peeks.push_plain(read(0x40), Some(0x40), &mut out);
        peeks.push_plain(read(0x80), Some(0x80), &mut out);
        peeks.take_settled(&mut out);
        // Written: what comes before the first candidate.
        assert_eq!(ops(&out), [(Op::Read, 0x10)]);
        assert_eq!(peeks.held(), 2);
        peeks.settle(Some(0x40), &mut out);
        assert_eq!(
            ops(&out),
            [
                (Op::Read, 0x10),
                (Op::Acquire, 0x40),
                (Op::Read, 0x40),
                (Op::Release, 0x40),
                (Op::Read, 0x80),
            ]
        );
        assert_eq!(peeks.held(), 0);
    }

    #[test]
    fn other_synchronization_or_a_long_gap_leaves_the_read_plain() {
        let mut out = Vec::new();
        let mut peeks = Peeks::default();
        peeks.push_plain(read(0x40), Some(0x40), &mut out);
        peeks.settle(None, &mut out);
        assert_eq!(ops(&out), [(Op::Read, 0x40)]);

        out.clear();
        peeks.push_plain(read(0x40), Some(0x40), &mut out);
        for i in 0..WINDOW {
            peeks.push_plain(read(0x100 + u64::from(i)), None, &mut out);
        }
        peeks.take_settled(&mut out);
        assert!(out.is_empty(), "held through the window");
        peeks.push_plain(read(0x200), None, &mut out);
        peeks.take_settled(&mut out);
        assert_eq!(out.len() as u32, WINDOW + 2, "nothing held past the window");
        peeks.settle(Some(0x40), &mut out);
        assert!(ops(&out).iter().all(|&(op, _)| op == Op::Read));
    }
}
