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
//! with an unordered plain access of the program. The same holds for the plain
//! accesses of musl's atomic helpers (`a_fetch_add`, `a_inc`, …, which wasi-libc
//! builds as a plain load and a compare-exchange loop) wherever they are inlined.
//!
//! The rest of the C library (allocator bookkeeping, string and stdio functions) is
//! plain code, ordered by those synchronization functions exactly as the program's own
//! code is, except the allocator: like ThreadSanitizer, which replaces malloc rather
//! than checking it, wasmgrind ignores dlmalloc's own plain accesses (it reads chunk
//! headers outside its lock by design); its lock's atomics still order its callers.
//!
//! dlmalloc's spin lock (`spin_acquire_lock`) is the one synchronization function whose
//! plain accesses are ignored too: they are the volatile reads by which a waiter polls
//! the lock word before it tries the compare-exchange again, and that compare-exchange,
//! an atomic, is what takes the lock and orders the taker after the last holder. Handled
//! as atomics, the polls (several per allocation when threads allocate at once) each
//! took the word's analysis lock, which the holder needs to release the lock: waiters
//! slowed the holder down, so there were more polls.

use rustc_hash::FxHashMap;
use wasmgrind_report::Symbolizer;

/// What the classification says of one site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LibcClass {
    /// The site's function is the C library's (by DWARF, or a synchronization or
    /// allocator function by name when there is no DWARF).
    pub c_library: bool,
    /// A plain access there is the C library's synchronization (handled as an atomic).
    pub sync: bool,
    /// A plain access there is the allocator's own bookkeeping (ignored).
    pub allocator: bool,
}

/// What is known of one function (the same for all its sites).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FunctionClass {
    /// The C library's code (by DWARF, or a synchronization or allocator function by
    /// name).
    pub c_library: bool,
    sync_by_name: bool,
    allocator: bool,
    /// The function is dlmalloc's spin lock.
    spin_lock: bool,
}

impl FunctionClass {
    /// Whether classifying a site of this function needs the function names at the site
    /// (innermost inlined frame first): only for plain accesses of C library code that
    /// is not a synchronization function as a whole.
    pub fn needs_inline_names(self, plain: bool) -> bool {
        plain && self.c_library && !self.sync_by_name
    }

    /// The class of one site; `inline_names` are the function names at the site, read
    /// only when [`FunctionClass::needs_inline_names`] says so.
    pub fn site(self, plain: bool, inline_names: &[&str]) -> LibcClass {
        let inline = self.needs_inline_names(plain);
        // A poll of dlmalloc's spin lock word (see the module docs): the allocator's.
        let spin_poll =
            plain && (self.spin_lock || (inline && inline_names.first() == Some(&SPIN_LOCK)));
        let sync = !spin_poll
            && (self.sync_by_name
                || (inline && inline_names.iter().any(|name| is_libc_sync_function(name))));
        LibcClass {
            c_library: self.c_library,
            sync,
            allocator: spin_poll || (self.allocator && plain && !sync),
        }
    }
}

/// Classifies sites of the module the user gave, caching per function.
pub struct LibcClassifier<'a> {
    symbolizer: &'a Symbolizer,
    by_function: FxHashMap<u32, FunctionClass>,
}

impl<'a> LibcClassifier<'a> {
    /// A classifier over `symbolizer` (of the module the user gave).
    pub fn new(symbolizer: &'a Symbolizer) -> Self {
        LibcClassifier {
            symbolizer,
            by_function: FxHashMap::default(),
        }
    }

    /// The class of the function holding `original_offset` (computed once per function).
    pub fn function_class(&mut self, original_offset: u32) -> FunctionClass {
        let Some(func) = self.symbolizer.function_of(original_offset) else {
            return FunctionClass::default();
        };
        let symbolizer = self.symbolizer;
        *self.by_function.entry(func).or_insert_with(|| {
            let name = symbolizer.function_name(func);
            let sync_by_name = name.is_some_and(is_libc_sync_function);
            let file = c_library_file(symbolizer, original_offset);
            let allocator = !sync_by_name
                && (file.as_deref().is_some_and(is_allocator_file)
                    || name.is_some_and(is_allocator_function));
            FunctionClass {
                c_library: sync_by_name || allocator || file.is_some(),
                sync_by_name,
                allocator,
                spin_lock: name == Some(SPIN_LOCK),
            }
        })
    }

    /// The class of the site at `original_offset`; `plain` for a plain load or store.
    /// Only plain sites of C library functions are symbolized one by one.
    pub fn classify(&mut self, original_offset: u32, plain: bool) -> LibcClass {
        let function = self.function_class(original_offset);
        let frames = if function.needs_inline_names(plain) {
            self.symbolizer.frames(original_offset)
        } else {
            Vec::new()
        };
        let names: Vec<&str> = frames
            .iter()
            .filter_map(|frame| frame.function.as_deref())
            .collect();
        function.site(plain, &names)
    }

    /// Whether a plain access at `original_offset` is part of an atomic operation as
    /// the compiler expanded it: LLVM lowers `fetch_max`, `fetch_nand` and friends on
    /// wasm to a plain load of the current value followed by a cmpxchg loop, so that
    /// load sits (inlined) inside `core::sync::atomic`, where Rust code touches nothing
    /// but atomics. (`check` drops such "races" when reporting; a trace records the
    /// load as an atomic read so offline engines agree.)
    pub fn is_atomic_expansion(&self, original_offset: u32) -> bool {
        self.symbolizer
            .frames(original_offset)
            .first()
            .and_then(|frame| frame.function.as_deref())
            .is_some_and(is_atomic_expansion_function)
    }
}

/// Whether `function` (demangled, innermost frame) is Rust's `core::sync::atomic`,
/// where a plain access can only be an expanded atomic operation's load.
pub fn is_atomic_expansion_function(function: &str) -> bool {
    function.starts_with("core::sync::atomic::")
}

/// The C library source file (shortened, `wasi-libc/...`) of the function at
/// `original_offset`, if DWARF says it is the C library's.
fn c_library_file(symbolizer: &Symbolizer, original_offset: u32) -> Option<String> {
    let frames = symbolizer.frames(original_offset);
    let file = frames.last()?.file.as_deref()?;
    let shown = wasmgrind_report::display_path(file);
    shown.starts_with("wasi-libc/").then(|| shown.into_owned())
}

/// Whether a (shortened) C library source file is the allocator's.
fn is_allocator_file(file: &str) -> bool {
    file.starts_with("wasi-libc/dlmalloc/")
}

/// Whether `name` is one of wasi-libc's allocator entry points or dlmalloc internals
/// (for modules without DWARF).
fn is_allocator_function(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "malloc",
        "free",
        "calloc",
        "realloc",
        "aligned_alloc",
        "posix_memalign",
        "memalign",
        "malloc_usable_size",
        "try_realloc_chunk",
        "dispose_chunk",
        "sys_alloc",
        "sys_trim",
        "tmalloc_large",
        "tmalloc_small",
        "prepend_alloc",
        "add_segment",
        "internal_memalign",
        "release_unused_segments",
    ];
    let dlmalloc_entry = name.len() > 2
        && name.starts_with("dl")
        && name[2..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_');
    dlmalloc_entry || EXACT.contains(&name)
}

/// dlmalloc's spin lock, whose polls of its word are ignored (see the module docs).
const SPIN_LOCK: &str = "spin_acquire_lock";

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
        // musl's atomic helpers (`src/internal/atomic.h`), always inlined. wasi-libc
        // builds `a_fetch_add` (so `a_inc`, `a_dec`: `MUSL_COUNTERS`) as a plain load of
        // the current value and a compare-exchange loop: that load belongs to an atomic
        // operation wherever the helper is inlined, also into functions not named here
        // (the cleanup handler of `sem_timedwait`, called through a pointer).
        "a_cas",
        "a_cas_p",
        "a_swap",
        "a_fetch_and",
        "a_fetch_or",
        "a_and",
        "a_or",
        "a_and_64",
        "a_or_64",
        "a_store",
        // dlmalloc's spin lock: its polls are ignored, but its atomics are lock
        // operations (`locks`).
        SPIN_LOCK,
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || EXACT.contains(&name) || is_musl_counter(name)
}

/// musl's counter helpers, which move a count (a mutex's waiters) up and down from any
/// thread with a compare-exchange loop: atomics, but never lock operations.
const MUSL_COUNTERS: &[&str] = &["a_fetch_add", "a_inc", "a_dec"];

/// Whether `name` is one of musl's counter helpers (`a_fetch_add`, `a_inc`, `a_dec`).
pub fn is_musl_counter(name: &str) -> bool {
    MUSL_COUNTERS.contains(&name)
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
            "a_fetch_add",
            "a_dec",
            "a_swap",
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

    #[test]
    fn recognizes_the_allocator_by_file_and_name() {
        assert!(is_allocator_file("wasi-libc/dlmalloc/src/malloc.c"));
        assert!(!is_allocator_file(
            "wasi-libc/libc-top-half/musl/src/string/memcpy.c"
        ));
        for name in ["malloc", "free", "dlfree", "dlrealloc", "try_realloc_chunk"] {
            assert!(is_allocator_function(name), "{name}");
        }
        for name in [
            "dl",
            "memcpy",
            "dlopen_Foo",
            "_ZN5alloc5alloc6malloc17h0E",
            "main",
        ] {
            assert!(!is_allocator_function(name), "{name}");
        }
    }

    #[test]
    fn polls_of_dlmallocs_spin_lock_are_ignored_other_sync_accesses_are_atomics() {
        let dlmalloc = FunctionClass {
            c_library: true,
            sync_by_name: false,
            allocator: true,
            spin_lock: false,
        };
        // Its spin lock inlined: the poll is the allocator's, not synchronization.
        let poll = dlmalloc.site(true, &["spin_acquire_lock", "dlmalloc"]);
        assert!(poll.allocator && !poll.sync, "{poll:?}");
        // Another synchronization function inlined into the allocator still is one.
        let lock = dlmalloc.site(true, &["__lock", "dlmalloc"]);
        assert!(lock.sync && !lock.allocator, "{lock:?}");
        // The load of musl's compare-exchange loop for `a_dec`, inlined into a C library
        // function that is no synchronization function by name.
        let cleanup = FunctionClass {
            c_library: true,
            ..FunctionClass::default()
        };
        let load = cleanup.site(true, &["a_fetch_add", "a_dec", "cleanup"]);
        assert!(load.sync && !load.allocator, "{load:?}");
        assert!(!cleanup.site(true, &["cleanup"]).sync);
        // The allocator's own bookkeeping.
        let own = dlmalloc.site(true, &["dlmalloc"]);
        assert!(own.allocator && !own.sync, "{own:?}");
        // The spin lock as a function of its own (no DWARF inlining): its plain
        // accesses are ignored, its atomics are not plain sites at all.
        let spin = FunctionClass {
            c_library: true,
            sync_by_name: true,
            allocator: false,
            spin_lock: true,
        };
        assert!(spin.site(true, &[]).allocator && !spin.site(true, &[]).sync);
        assert!(!spin.site(false, &[]).allocator);
        // Other synchronization functions keep their plain accesses as atomics.
        let join = FunctionClass {
            c_library: true,
            sync_by_name: true,
            allocator: false,
            spin_lock: false,
        };
        assert!(join.site(true, &[]).sync);
    }
}
