//! Counting reported findings for the final line of a run.

use std::io::{self, Write};

use crate::finding::Finding;

/// Counts findings by kind, in the order kinds were first seen.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// (singular title, plural title, count); a handful of kinds at most, so a
    /// vector beats a map.
    counts: Vec<(&'static str, &'static str, usize)>,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Counts one reported finding.
    pub fn add(&mut self, finding: &Finding) {
        let title = finding.title();
        match self.counts.iter_mut().find(|(t, _, _)| *t == title) {
            Some((_, _, n)) => *n += 1,
            None => self.counts.push((title, finding.title_plural(), 1)),
        }
    }

    /// Total number of findings counted.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, _, n)| n).sum()
    }

    /// The final line without its newline: `wasmgrind: found 3 data races`,
    /// `wasmgrind: found 1 data race, 2 deadlocks`, or `wasmgrind: no findings`.
    pub fn line(&self) -> String {
        if self.counts.is_empty() {
            return "wasmgrind: no findings".to_string();
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|&(one, many, n)| format!("{n} {}", if n == 1 { one } else { many }))
            .collect();
        format!("wasmgrind: found {}", parts.join(", "))
    }

    /// Writes [`Tally::line`] and a newline to `out`.
    pub fn write<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "{}", self.line())
    }
}

impl<'a> FromIterator<&'a Finding> for Tally {
    fn from_iter<I: IntoIterator<Item = &'a Finding>>(iter: I) -> Tally {
        let mut tally = Tally::new();
        for f in iter {
            tally.add(f);
        }
        tally
    }
}
