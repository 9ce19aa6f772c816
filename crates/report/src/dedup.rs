//! Reporting each distinct problem once.

use std::collections::HashSet;

use crate::finding::Finding;
use crate::frame::Frame;

/// Identity of a code site: the source location of the innermost frame of the
/// user's own code (so the copies an unrolled or inlined loop makes of one source
/// access are one site), else the innermost code offset, else whatever is symbolized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Site {
    Offset(u32),
    Symbolic {
        function: Option<String>,
        file: Option<String>,
        line: Option<u32>,
        column: Option<u32>,
    },
    Unknown,
}

impl Site {
    fn of(stack: &[Frame]) -> Site {
        let user = stack
            .iter()
            .find(|f| !f.is_system() && f.file.is_some() && f.line.is_some());
        if let Some(f) = user {
            return Site::Symbolic {
                function: f.function.clone(),
                file: f.file.clone(),
                line: f.line,
                column: f.column,
            };
        }
        match stack.first() {
            Some(Frame {
                code_offset: Some(offset),
                ..
            }) => Site::Offset(*offset),
            Some(f) => Site::Symbolic {
                function: f.function.clone(),
                file: f.file.clone(),
                line: f.line,
                column: f.column,
            },
            None => Site::Unknown,
        }
    }
}

/// What makes two findings "the same": kind plus an unordered pair of sites.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: &'static str,
    sites: (Site, Site),
}

fn key(finding: &Finding) -> Key {
    match finding {
        Finding::DataRace(race) => {
            let a = Site::of(&race.current.stack);
            let b = Site::of(&race.previous.stack);
            // Unordered: A-then-B and B-then-A are one race.
            let sites = if a <= b { (a, b) } else { (b, a) };
            Key {
                kind: finding.kind(),
                sites,
            }
        }
        // A cycle: its first and last acquisition sites in sorted order, so the same
        // code nesting its locks (whatever the lock instances) is one report.
        Finding::LockOrderInversion(inversion) => {
            let mut sites: Vec<Site> = inversion
                .cycle
                .iter()
                .map(|e| Site::of(&e.acquired_stack))
                .collect();
            sites.sort();
            let first = sites.first().cloned().unwrap_or(Site::Unknown);
            let last = sites.last().cloned().unwrap_or(Site::Unknown);
            Key {
                kind: finding.kind(),
                sites: (first, last),
            }
        }
        // Per misuse kind: the misusing site and where the lock was acquired.
        Finding::LockMisuse(misuse) => Key {
            kind: misuse.misuse.title(),
            sites: (Site::of(&misuse.stack), Site::of(&misuse.acquired_stack)),
        },
        // A program hangs once: its report is never a duplicate of another kind's.
        Finding::Hang(hang) => Key {
            kind: hang.title(),
            sites: (Site::of(hang.primary_stack()), Site::Unknown),
        },
    }
}

/// Remembers reported findings: one report per distinct pair of code locations
/// (the innermost frames of both accesses, in either order).
#[derive(Debug, Default)]
pub struct Deduplicator {
    seen: HashSet<Key>,
}

impl Deduplicator {
    /// Nothing seen yet.
    pub fn new() -> Deduplicator {
        Deduplicator::default()
    }

    /// Records `finding`; true the first time its pair of sites is seen.
    pub fn first_time(&mut self, finding: &Finding) -> bool {
        self.seen.insert(key(finding))
    }

    /// Number of distinct findings seen.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing has been seen.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
