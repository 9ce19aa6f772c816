//! Original names of threads, locks, variables and locations, so a trace read from
//! STD text written by another tool prints back with the names it had.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::DecorKind;

/// Name tables, indexed by dense id. An empty table (or an id past its end) means
/// "no name": writers then fall back to `T<id>`, `L<id>`, `V<id>` and the numeric location.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// `threads[id]` = the name of thread `id` (e.g. `T0`, `main`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<String>,
    /// `locks[id]` = the name of lock `id` (e.g. `L34`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<String>,
    /// `variables[id]` = the name of variable `id` (e.g. `V234.23[0]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<String>,
    /// Names of locations whose id is not simply the number they were written as.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locations: BTreeMap<u32, String>,
}

impl Names {
    /// True when no table holds a name.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
            && self.locks.is_empty()
            && self.variables.is_empty()
            && self.locations.is_empty()
    }

    /// The name of thread `id`, if known.
    pub fn thread(&self, id: u32) -> Option<&str> {
        self.threads.get(id as usize).map(String::as_str)
    }

    /// The name of lock `id`, if known.
    pub fn lock(&self, id: u64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.locks.get(i))
            .map(String::as_str)
    }

    /// The name of variable `id`, if known.
    pub fn variable(&self, id: u64) -> Option<&str> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.variables.get(i))
            .map(String::as_str)
    }

    /// The name of the decor `id` of an operation of kind `kind`, if known.
    pub fn decor(&self, kind: DecorKind, id: u64) -> Option<&str> {
        match kind {
            DecorKind::Variable => self.variable(id),
            DecorKind::Lock => self.lock(id),
            DecorKind::Thread => u32::try_from(id).ok().and_then(|t| self.thread(t)),
        }
    }

    /// The name of location `id`, if it is not just its number.
    pub fn location(&self, id: u32) -> Option<&str> {
        self.locations.get(&id).map(String::as_str)
    }

    /// `T<id>` or the thread's name.
    pub fn thread_label(&self, id: u32) -> String {
        self.thread(id)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("T{id}"))
    }

    /// The decor's name, or `V<id>`/`L<id>`/`T<id>` by kind.
    pub fn decor_label(&self, kind: DecorKind, id: u64) -> String {
        if let Some(n) = self.decor(kind, id) {
            return n.to_owned();
        }
        match kind {
            DecorKind::Variable => format!("V{id}"),
            DecorKind::Lock => format!("L{id}"),
            DecorKind::Thread => format!("T{id}"),
        }
    }

    /// The location's name, or its number.
    pub fn location_label(&self, id: u32) -> String {
        self.location(id)
            .map(str::to_owned)
            .unwrap_or_else(|| id.to_string())
    }
}
