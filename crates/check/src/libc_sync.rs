//! The C library's own synchronization code, recognized by name.
//!
//! wasi-libc (musl) implements `pthread_join`, thread exit, the thread list lock and
//! futex waits with `volatile` fields read and written by plain loads and stores next
//! to its atomics: correct on real hardware, but plain accesses to the analysis.
//! dlmalloc's spin lock polls its word the same way. ThreadSanitizer never instruments
//! the C library and intercepts its synchronization instead; wasmgrind treats every
//! plain access made inside one of the C library's *synchronization functions* (by the
//! names below, also where DWARF shows one inlined into another C library function) as
//! an atomic (acquire + release on its address), so they neither race with each other
//! nor hide the order they establish (a join that sees its thread already exited,
//! without waiting, still acquires from its exit), while such an access still races
//! with an unordered plain access of the program. The rest of the C library (allocator
//! bookkeeping, string and stdio functions) is plain code, ordered by those
//! synchronization functions exactly as the program's own code is.

use rustc_hash::FxHashMap;
use wasmgrind_report::Symbolizer;

/// What the classification says of one site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LibcClass {
    /// The site's function is the C library's (by DWARF, or a synchronization
    /// function by name when there is no DWARF).
    pub c_library: bool,
    /// A plain access there is the C library's synchronization (handled as an atomic).
    pub sync: bool,
}

/// Classifies sites of the module the user gave, caching per function.
pub struct LibcClassifier<'a> {
    symbolizer: &'a Symbolizer,
    /// Per function: (C library code, synchronization function by name).
    by_function: FxHashMap<u32, (bool, bool)>,
}

impl<'a> LibcClassifier<'a> {
    /// A classifier over `symbolizer` (of the module the user gave).
    pub fn new(symbolizer: &'a Symbolizer) -> Self {
        LibcClassifier {
            symbolizer,
            by_function: FxHashMap::default(),
        }
    }

    /// The class of the site at `original_offset`; `plain` for a plain load or store.
    /// Only plain sites of C library functions are symbolized one by one.
    pub fn classify(&mut self, original_offset: u32, plain: bool) -> LibcClass {
        let Some(func) = self.symbolizer.function_of(original_offset) else {
            return LibcClass::default();
        };
        let symbolizer = self.symbolizer;
        let (c_library, sync_by_name) = *self.by_function.entry(func).or_insert_with(|| {
            let sync_by_name = symbolizer
                .function_name(func)
                .is_some_and(is_libc_sync_function);
            (
                sync_by_name || is_c_library_code(symbolizer, original_offset),
                sync_by_name,
            )
        });
        let sync = sync_by_name
            || (c_library
                && plain
                && symbolizer
                    .frames(original_offset)
                    .iter()
                    .filter_map(|frame| frame.function.as_deref())
                    .any(is_libc_sync_function));
        LibcClass { c_library, sync }
    }
}

/// Whether the code at `original_offset` (of the module the user gave) belongs to a
/// function of the C library (wasi-libc), by its DWARF file. The outermost frame at an
/// offset is the wasm function itself, not an inlinee, so every offset of a function
/// gives the same answer.
fn is_c_library_code(symbolizer: &Symbolizer, original_offset: u32) -> bool {
    symbolizer
        .frames(original_offset)
        .last()
        .and_then(|frame| frame.file.as_deref())
        .is_some_and(|file| wasmgrind_report::display_path(file).starts_with("wasi-libc/"))
}

/// Whether `name` (as the name section gives it) is one of those functions.
pub fn is_libc_sync_function(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "pthread_",
        "__pthread_",
        "__tl_",
        "__wait",
        "__timedwait",
        "__wake",
        "__private_cond_",
        "__wasi_thread_start",
        "wasi_thread_start",
        "sem_",
        "__synccall",
        "__acquire_ptc",
        "__release_ptc",
        "__inhibit_ptc",
        "__vm_",
    ];
    const EXACT: &[&str] = &[
        "__lock",
        "__unlock",
        "__lockfile",
        "__unlockfile",
        "__futexwait",
        "call_once",
        // dlmalloc's spin lock polls its word with a volatile read before the CAS.
        "spin_acquire_lock",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || EXACT.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_musl_thread_internals_only() {
        for name in [
            "__pthread_join",
            "pthread_mutex_lock",
            "__tl_sync",
            "__timedwait_cp",
            "__wake",
            "__lock",
        ] {
            assert!(is_libc_sync_function(name), "{name}");
        }
        for name in [
            "main",
            "_ZN4racy4bump17h0123456789abcdefE",
            "__lockless_queue",
            "malloc",
            "memcpy",
        ] {
            assert!(!is_libc_sync_function(name), "{name}");
        }
    }
}
