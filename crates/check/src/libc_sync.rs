//! The C library's own synchronization code, recognized by name.
//!
//! wasi-libc (musl) implements `pthread_join`, thread exit, the thread list lock and
//! futex waits with `volatile` fields read and written by plain loads and stores next
//! to its atomics: correct on real hardware, but plain accesses to the analysis.
//! dlmalloc's spin lock polls its word the same way. ThreadSanitizer never instruments
//! the C library and intercepts its synchronization instead; wasmgrind treats every
//! access made *directly inside* a C library function as an atomic (acquire + release
//! on its address), so they neither race with each other nor hide the order they
//! establish (a join that sees its thread already exited, without waiting, still
//! acquires from its exit), while a C library access still races with an unordered
//! plain access of the program. Functions are the C library's when DWARF says so
//! (their code is from wasi-libc) or, without DWARF, by the names below.

/// Whether the code at `original_offset` (of the module the user gave) belongs to a
/// function of the C library (wasi-libc), by its DWARF file. The outermost frame at an
/// offset is the wasm function itself, not an inlinee, so every offset of a function
/// gives the same answer.
pub fn is_c_library_code(symbolizer: &wasmgrind_report::Symbolizer, original_offset: u32) -> bool {
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
