//! Turns detector races into user-facing findings: symbolized stacks of both
//! accesses, what the address is, one report per pair of code locations, the user's
//! suppressions, text or JSON Lines output, and the final count.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use wasmgrind_analysis::online::{Race, RaceAccess};
use wasmgrind_instrument::Site;
use wasmgrind_report::{
    Access, AccessKind, Deduplicator, Finding, Frame, Suppressions, Symbolizer, Tally, TextRenderer,
};
use wasmgrind_runtime::{CodeMap, Outcome, Termination};

use crate::lock_order::Place;
use crate::lock_tracker::LockFindings;
use crate::stacks::StackDepot;

/// How findings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// ThreadSanitizer-style text blocks and a final count line.
    Text,
    /// One JSON object per finding per line (see `wasmgrind_report`'s docs).
    Json,
}

/// The reporting choices of a run.
pub struct ReporterConfig {
    pub format: OutputFormat,
    pub suppressions: Option<Suppressions>,
    /// Stop the program at the first reported finding.
    pub halt_on_error: bool,
    /// Exit status when anything was reported.
    pub error_exitcode: i32,
}

struct Output {
    sink: Box<dyn Write + Send>,
    dedup: Deduplicator,
    tally: Tally,
}

/// What [`Reporter::finish`] runs first, given the reporter.
pub type BeforeFinish = Box<dyn Fn(&Reporter) + Send + Sync>;

/// Prints findings as they are found; shared by all threads.
pub struct Reporter {
    config: ReporterConfig,
    symbolizer: Symbolizer,
    code_map: CodeMap,
    text: TextRenderer,
    output: Mutex<Output>,
    termination: OnceLock<Arc<Termination>>,
    /// Runs first in [`Reporter::finish`]: reports what is only known at the end
    /// (the lock-order cycles and lock misuses).
    before_finish: OnceLock<BeforeFinish>,
}

impl Reporter {
    /// `symbolizer` and `code_map` describe the module as the user gave it.
    pub fn new(
        config: ReporterConfig,
        symbolizer: Symbolizer,
        code_map: CodeMap,
        sink: Box<dyn Write + Send>,
    ) -> Self {
        Reporter {
            config,
            symbolizer,
            code_map,
            text: TextRenderer::new(std::process::id()),
            output: Mutex::new(Output {
                sink,
                dedup: Deduplicator::new(),
                tally: Tally::new(),
            }),
            termination: OnceLock::new(),
            before_finish: OnceLock::new(),
        }
    }

    /// Registers what [`Reporter::finish`] runs before printing the count (once).
    pub fn set_before_finish(&self, f: BeforeFinish) {
        let _ = self.before_finish.set(f);
    }

    /// Lets `--halt-on-error` end the program.
    pub fn set_termination(&self, termination: Arc<Termination>) {
        let _ = self.termination.set(termination);
    }

    fn output(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The (demangled) name of function `func_index` of the user's module.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.symbolizer.function_name(func_index)
    }

    /// The symbolizer of the module the user gave.
    pub fn symbolizer(&self) -> &Symbolizer {
        &self.symbolizer
    }

    /// The offset in the module the user gave of `prepared_offset` (of the module as
    /// run, before instrumentation); `None` for code wasmgrind added.
    pub fn original_offset(&self, prepared_offset: u32) -> Option<u32> {
        self.code_map.prepared_to_original(prepared_offset)
    }

    /// Findings reported so far.
    pub fn count(&self) -> usize {
        self.output().tally.total()
    }

    /// The exit status findings impose, if any were reported.
    pub fn exit_override(&self) -> Option<i32> {
        (self.count() > 0).then_some(self.config.error_exitcode)
    }

    /// Prints the final count (text format) and flushes.
    pub fn finish(&self) {
        if let Some(before) = self.before_finish.get() {
            before(self);
        }
        let mut out = self.output();
        let Output { sink, tally, .. } = &mut *out;
        if self.config.format == OutputFormat::Text {
            let _ = tally.write(sink);
        }
        let _ = sink.flush();
    }

    pub(crate) fn report_races(&self, races: &[Race], stacks: &StackDepot, sites: &[Site]) {
        let mut reported = false;
        for race in races {
            let finding = self.finding(race, stacks, sites);
            if is_atomic_expansion_race(&finding) || is_c_library_peek(&finding) {
                continue;
            }
            reported |= self.emit(&finding);
        }
        if reported && self.config.halt_on_error {
            if let Some(termination) = self.termination.get() {
                termination.terminate(Outcome::Exited(self.config.error_exitcode));
            }
        }
    }

    /// Reports the lock-order cycles and misuses of a finished run (no halting: the
    /// run is over).
    pub(crate) fn report_locks(&self, found: &LockFindings, stacks: &StackDepot, sites: &[Site]) {
        for cycle in &found.cycles {
            let edges = cycle
                .iter()
                .map(|(held, acquired, e)| wasmgrind_report::LockOrderEdge {
                    thread: e.thread,
                    held: *held as u32,
                    acquired: *acquired as u32,
                    held_stack: self.stack_at(e.held_at, stacks, sites),
                    acquired_stack: self.stack_at(e.acquired_at, stacks, sites),
                    held_mode: e.modes.0.rw_mode(),
                    acquired_mode: e.modes.1.rw_mode(),
                })
                .collect();
            self.emit(&Finding::LockOrderInversion(
                wasmgrind_report::LockOrderInversion { cycle: edges },
            ));
        }
        for m in &found.misuses {
            self.emit(&Finding::LockMisuse(wasmgrind_report::LockMisuse {
                misuse: m.kind,
                lock: m.lock as u32,
                thread: m.thread,
                stack: self.stack_at(m.at, stacks, sites),
                holder: m.holder.map(|(h, _)| h),
                acquired_stack: m
                    .holder
                    .map(|(_, at)| self.stack_at(at, stacks, sites))
                    .unwrap_or_default(),
            }));
        }
    }

    /// The symbolized stack of a lock operation at `place`.
    fn stack_at(&self, place: Place, stacks: &StackDepot, sites: &[Site]) -> Vec<Frame> {
        let offsets: Vec<u32> = place
            .site
            .into_iter()
            .chain(stacks.sites(place.stack))
            .filter_map(|site| sites.get(site as usize))
            .filter_map(|site| self.code_map.prepared_to_original(site.offset))
            .collect();
        self.symbolizer.stack(&offsets)
    }

    /// Filters, deduplicates, counts and prints one finding; true if printed.
    fn emit(&self, finding: &Finding) -> bool {
        if self
            .config
            .suppressions
            .as_ref()
            .is_some_and(|s| s.is_suppressed(finding))
        {
            return false;
        }
        let mut out = self.output();
        if !out.dedup.first_time(finding) {
            return false;
        }
        out.tally.add(finding);
        let Output { sink, .. } = &mut *out;
        let _ = match self.config.format {
            OutputFormat::Text => self.text.write(sink, finding),
            OutputFormat::Json => wasmgrind_report::write_json_line(sink, finding)
                .map_err(|e| std::io::Error::other(e.to_string())),
        };
        let _ = sink.flush();
        true
    }

    fn finding(&self, race: &Race, stacks: &StackDepot, sites: &[Site]) -> Finding {
        let location = Some(self.symbolizer.describe(race.current.addr as u32));
        Finding::DataRace(wasmgrind_report::Race {
            current: self.access(&race.current, stacks, sites),
            previous: self.access(&race.previous, stacks, sites),
            location,
        })
    }

    /// Symbolizes one side: the access's own site, then its call sites, innermost first.
    fn access(&self, access: &RaceAccess, stacks: &StackDepot, sites: &[Site]) -> Access {
        let offsets: Vec<u32> = std::iter::once(access.site)
            .chain(stacks.sites(access.stack))
            .filter_map(|site| sites.get(site as usize))
            .filter_map(|site| self.code_map.prepared_to_original(site.offset))
            .collect();
        let stack: Vec<Frame> = self.symbolizer.stack(&offsets);
        let kind = match (access.write, access.atomic) {
            (false, false) => AccessKind::Read,
            (true, false) => AccessKind::Write,
            (false, true) => AccessKind::AtomicRead,
            (true, true) => AccessKind::AtomicWrite,
        };
        Access {
            kind,
            size: access.size,
            addr: access.addr as u32,
            thread: access.thread,
            stack,
        }
    }
}

/// Whether a plain access is part of an atomic operation as the compiler expanded it:
/// LLVM lowers `fetch_max`, `fetch_nand` and friends on wasm to a plain load of the
/// current value followed by a cmpxchg loop, so that load sits (inlined) inside
/// `core::sync::atomic`. Rust code there touches nothing but atomics.
fn is_atomic_expansion(access: &Access) -> bool {
    access
        .stack
        .first()
        .and_then(|frame| frame.function.as_deref())
        .is_some_and(crate::libc_sync::is_atomic_expansion_function)
}

/// A "race" between an atomic and such an expansion's plain load is no race: the
/// source program has only atomics there.
fn is_atomic_expansion_race(finding: &Finding) -> bool {
    let Finding::DataRace(race) = finding else {
        return false;
    };
    let atomic = |a: &Access| {
        matches!(a.kind, AccessKind::AtomicRead | AccessKind::AtomicWrite) || is_atomic_expansion(a)
    };
    atomic(&race.current) && atomic(&race.previous)
}

/// Whether DWARF places the innermost frame of `a` in the C library.
fn in_c_library(a: &Access) -> bool {
    a.stack
        .first()
        .and_then(|frame| frame.file.as_deref())
        .is_some_and(|file| wasmgrind_report::display_path(file).starts_with("wasi-libc/"))
}

/// Whether a race is the C library peeking at its own synchronization word: musl
/// reads a lock word with a plain load to decide whether to lock at all (stdio's
/// `FLOCK` reads `f->lock` before `__lockfile`), while another thread's lock or
/// unlock writes it atomically. That is the library's design, not the program's race
/// (ThreadSanitizer, which does not instrument the C library, never sees it). A plain
/// *write* by C library code to a word its atomics use is still reported (a `memset`
/// of a mutex in use).
fn is_c_library_peek(finding: &Finding) -> bool {
    let Finding::DataRace(race) = finding else {
        return false;
    };
    let atomic = |a: &Access| matches!(a.kind, AccessKind::AtomicRead | AccessKind::AtomicWrite);
    let peek = |a: &Access| a.kind == AccessKind::Read && in_c_library(a);
    let (current, previous) = (&race.current, &race.previous);
    (peek(current) && atomic(previous) && in_c_library(previous))
        || (peek(previous) && atomic(current) && in_c_library(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(kind: AccessKind, function: &str) -> Access {
        Access {
            kind,
            size: 4,
            addr: 0x100,
            thread: 1,
            stack: vec![Frame {
                function: Some(function.to_string()),
                ..Frame::default()
            }],
        }
    }

    fn race(current: Access, previous: Access) -> Finding {
        Finding::DataRace(wasmgrind_report::Race {
            current,
            previous,
            location: None,
        })
    }

    #[test]
    fn plain_load_of_an_expanded_rmw_is_not_a_race_with_atomics() {
        let expansion = access(AccessKind::Read, "core::sync::atomic::atomic_umax");
        let atomic = access(AccessKind::AtomicWrite, "core::sync::atomic::atomic_umax");
        assert!(is_atomic_expansion_race(&race(
            atomic.clone(),
            expansion.clone()
        )));
        assert!(is_atomic_expansion_race(&race(expansion, atomic.clone())));
    }

    /// An access whose innermost frame is in `file`.
    fn access_in(kind: AccessKind, function: &str, file: &str) -> Access {
        let mut a = access(kind, function);
        a.stack[0].file = Some(file.to_string());
        a
    }

    #[test]
    fn the_c_librarys_plain_reads_of_its_lock_words_are_not_races() {
        let libc = "wasisdk://v30.0/src/wasi-libc/libc-top-half/musl/src";
        let flock = access_in(
            AccessKind::Read,
            "vfprintf",
            &format!("{libc}/stdio/vfprintf.c"),
        );
        let unlock = access_in(
            AccessKind::AtomicWrite,
            "a_swap",
            &format!("{libc}/internal/atomic.h"),
        );
        assert!(is_c_library_peek(&race(flock.clone(), unlock.clone())));
        assert!(is_c_library_peek(&race(unlock.clone(), flock.clone())));
        // The program's own read of the word, or the library's plain write to it, or
        // a plain access of the library racing with another plain one: races.
        let user = access_in(AccessKind::Read, "app::peek", "/src/app/src/main.rs");
        assert!(!is_c_library_peek(&race(user, unlock.clone())));
        let memset = access_in(
            AccessKind::Write,
            "memset",
            &format!("{libc}/string/memset.c"),
        );
        assert!(!is_c_library_peek(&race(memset.clone(), unlock)));
        assert!(!is_c_library_peek(&race(flock, memset)));
    }

    #[test]
    fn user_plain_accesses_still_race_with_atomics() {
        let user = access(AccessKind::Read, "racy::main");
        let atomic = access(AccessKind::AtomicWrite, "core::sync::atomic::atomic_store");
        assert!(!is_atomic_expansion_race(&race(user.clone(), atomic)));
        let expansion = access(AccessKind::Read, "core::sync::atomic::atomic_umax");
        assert!(!is_atomic_expansion_race(&race(
            expansion,
            access(AccessKind::Write, "racy::main")
        )));
    }
}
