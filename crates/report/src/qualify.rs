//! Qualifying the short function names of DWARF built without namespaces.
//!
//! With full debug info rustc records linkage names, which addr2line prefers and
//! which demangle to full paths (`core::ptr::write_volatile`). With
//! `debug = "line-tables-only"` (what wasm guests often use) a subprogram has only a
//! short `DW_AT_name` such as `{closure#0}<join_trapped::run::{closure_env#0}, u32>`
//! or `spawn<F, T>`, without enclosing namespaces. The full path is still spelled
//! out elsewhere: generic arguments name closure types by their full path
//! (`wasm_threadlink::thread::spawn::{closure_env#0}<...>`, whose generic arguments
//! are its parent function's), and the `name` section has the full (mangled) name
//! of every out-of-line function. [`Qualifier`] collects those paths and picks the
//! one a short name stands for, using the frame's source file to disambiguate; when
//! the choice is not unique it leaves the name short rather than guess.

use std::collections::{BTreeSet, HashMap};

use crate::source_path::is_rust_library;

/// Marker of a closure environment type in a DWARF type name.
const CLOSURE_ENV: &str = "::{closure_env#";

/// Full paths known for short names, built once per module.
#[derive(Debug, Default)]
pub(crate) struct Qualifier {
    /// `(last path segment, generic arguments)` → full paths of closures named by
    /// their environment types, and of the functions (or closures) containing them.
    by_segment_and_args: HashMap<(String, String), BTreeSet<String>>,
    /// Last path segment (normalized) → full names from the `name` section.
    by_segment: HashMap<String, BTreeSet<String>>,
    /// Crate root directory (holding `src/`) → crate name, from rustc's
    /// compilation unit names; binaries' crates are often named unlike their
    /// directory.
    crate_roots: HashMap<String, String>,
}

impl Qualifier {
    /// Learns the paths spelled out in a DWARF name (type or function name).
    pub fn learn_dwarf_name(&mut self, name: &str) {
        let mut from = 0;
        while let Some(pos) = name[from..].find(CLOSURE_ENV).map(|p| p + from) {
            from = pos + CLOSURE_ENV.len();
            let start = name[..pos]
                .rfind(|c: char| !(c.is_alphanumeric() || "_:{}#".contains(c)))
                .map_or(0, |i| i + 1);
            let parent = &name[start..pos];
            let Some(close) = name[from..].find('}').map(|p| p + from) else {
                continue;
            };
            let number = &name[from..close];
            let args = generic_args_at(&name[close + 1..]);
            if parent.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            // The closure itself, `parent::{closure#N}` with the same arguments.
            let closure = format!("{{closure#{number}}}");
            self.insert(&closure, args, format!("{parent}::{closure}"));
            // Its parent, whose generic arguments the environment type repeats.
            if last_segment(parent) != parent {
                self.insert(last_segment(parent), args, parent.to_string());
            }
        }
    }

    fn insert(&mut self, segment: &str, args: &str, path: String) {
        self.by_segment_and_args
            .entry((segment.to_string(), args.to_string()))
            .or_default()
            .insert(path);
    }

    /// Learns the crate a rustc compilation unit belongs to, from its
    /// `DW_AT_name` (`src/main.rs/@/racy.9ad56ef450f63e7b-cgu.0`) and
    /// `DW_AT_comp_dir`.
    pub fn learn_unit(&mut self, comp_dir: Option<&str>, name: &str) {
        let Some((root_file, unit)) = name.split_once("/@/") else {
            return;
        };
        let Some((krate, _)) = unit.split_once('.') else {
            return;
        };
        let full = match comp_dir {
            Some(dir) if !root_file.starts_with('/') => format!("{dir}/{root_file}"),
            _ => root_file.to_string(),
        };
        if let Some(pos) = full.rfind("/src/") {
            self.crate_roots
                .insert(full[..pos].to_string(), krate.to_string());
        }
    }

    /// Learns a full, demangled function name from the `name` section.
    pub fn learn_full_name(&mut self, name: &str) {
        let last = last_segment(name);
        if last != name {
            self.by_segment
                .entry(normalize(split_generics(last).0))
                .or_default()
                .insert(name.to_string());
        }
    }

    /// The full path of the function a short DWARF name (`spawn<F, T>`,
    /// `{closure#0}`) stands for, whose code is in `file`; `None` when unknown or
    /// ambiguous. Closures print as `{{closure}}`, like demangled symbol names.
    pub fn qualify(&self, short: &str, file: Option<&str>) -> Option<String> {
        let (base, args) = split_generics(short);
        let exact = self
            .by_segment_and_args
            .get(&(base.to_string(), args.to_string()));
        if let Some(paths) = exact {
            // Matching generic arguments identify the function; a bare name like
            // `{closure#0}` needs the file to agree as well.
            let trust_unique = !args.is_empty();
            if let Some(path) = self.choose(paths.iter().map(String::as_str), file, trust_unique) {
                return Some(normalize(path));
            }
        }
        let paths = self.by_segment.get(&normalize(base))?;
        self.choose(paths.iter().map(String::as_str), file, false)
            .map(str::to_string)
    }

    /// Picks the one candidate whose crate (and, among several, module) matches
    /// `file`; with `trust_unique`, a single candidate is taken as it is.
    fn choose<'a>(
        &self,
        candidates: impl Iterator<Item = &'a str> + Clone,
        file: Option<&str>,
        trust_unique: bool,
    ) -> Option<&'a str> {
        let mut all = candidates.clone();
        if let (true, Some(first), None) = (trust_unique, all.next(), all.next()) {
            return Some(first);
        }
        let (krate, modules) = module_hint(file?, &self.crate_roots)?;
        pick(candidates, &krate, &modules)
    }
}

/// The one candidate in `krate` (preferring those in `modules`).
fn pick<'a>(
    candidates: impl Iterator<Item = &'a str>,
    krate: &str,
    modules: &[String],
) -> Option<&'a str> {
    let in_crate: Vec<&str> = candidates
        .filter(|c| segments(c).first().is_some_and(|s| *s == krate))
        .collect();
    let in_module: Vec<&str> = in_crate
        .iter()
        .copied()
        .filter(|c| {
            let segs = segments(c);
            segs.len() > modules.len() && segs[1..=modules.len()] == modules[..]
        })
        .collect();
    match (in_module.as_slice(), in_crate.as_slice()) {
        ([only], _) | ([], [only]) => Some(only),
        _ => None,
    }
}

/// The crate and module path a source file most likely defines, from its path:
/// `.../library/core/src/ops/function.rs` → (`core`, [`ops`, `function`]),
/// `.../wasm-threadlink/src/thread.rs` → (`wasm_threadlink`, [`thread`]),
/// `.../spin-0.9.8/src/mutex/mod.rs` → (`spin`, [`mutex`]).
fn module_hint(file: &str, crate_roots: &HashMap<String, String>) -> Option<(String, Vec<String>)> {
    let pos = file.rfind("/src/")?;
    let (root, rest) = (&file[..pos], &file[pos + "/src/".len()..]);
    let dir = root.rsplit('/').next()?;
    let krate = if let Some(known) = crate_roots.get(root) {
        known.clone()
    } else if is_rust_library(file) {
        dir.to_string()
    } else {
        // Registry checkouts are `<name>-<version>`.
        match dir.rsplit_once('-') {
            Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
                name.to_string()
            }
            _ => dir.to_string(),
        }
    };
    let mut modules: Vec<String> = rest
        .strip_suffix(".rs")?
        .split('/')
        .map(str::to_string)
        .collect();
    if modules
        .last()
        .is_some_and(|m| ["lib", "main", "mod"].contains(&m.as_str()))
    {
        modules.pop();
    }
    Some((krate.replace('-', "_"), modules))
}

/// `name` split into its base and trailing generic arguments (`<...>`, balanced),
/// which are empty when there are none.
pub(crate) fn split_generics(name: &str) -> (&str, &str) {
    if !name.ends_with('>') {
        return (name, "");
    }
    let mut depth = 0usize;
    for (i, c) in name.char_indices().rev() {
        match c {
            '>' => depth += 1,
            '<' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (&name[..i], &name[i..]);
                }
            }
            _ => {}
        }
    }
    (name, "")
}

/// Whether a demangled or DWARF name is a full path (has `::` outside its generic
/// arguments, or is a `<T as Trait>::f` form).
pub(crate) fn is_qualified(name: &str) -> bool {
    split_generics(name).0.contains("::")
}

/// A short name as reports print it when it cannot be qualified: without generic
/// arguments, closures as `{{closure}}`.
pub(crate) fn display_short(name: &str) -> String {
    normalize(split_generics(name).0)
}

/// Replaces DWARF's `{closure#N}` segments by `{{closure}}`, the spelling of
/// demangled symbol names.
fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(pos) = rest.find("{closure#") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + "{closure#".len()..];
        match after.find('}') {
            Some(end) if after[..end].bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str("{{closure}}");
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("{closure#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The balanced `<...>` at the start of `s`, or `""`.
fn generic_args_at(s: &str) -> &str {
    if !s.starts_with('<') {
        return "";
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return &s[..=i];
                }
            }
            _ => {}
        }
    }
    ""
}

/// The path's segments split at `::` outside `<...>`, a leading `<` dropped (so
/// `<alloc::sync::Arc<T> as Clone>::clone` starts with `alloc`).
fn segments(path: &str) -> Vec<&str> {
    let path = path.strip_prefix('<').unwrap_or(path);
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                out.push(&path[start..i]);
                start = i + 2;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(&path[start..]);
    out
}

/// The last `::`-separated segment outside `<...>`.
fn last_segment(path: &str) -> &str {
    let mut depth = 0usize;
    let bytes = path.as_bytes();
    for i in (1..bytes.len()).rev() {
        match bytes[i] {
            b'>' => depth += 1,
            b'<' => depth = depth.saturating_sub(1),
            b':' if depth == 0 && bytes[i - 1] == b':' => return &path[i + 1..],
            _ => {}
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DWARF names as rustc writes them with `debug = "line-tables-only"`, taken
    /// from a real threadlink guest.
    fn learned() -> Qualifier {
        let mut q = Qualifier::default();
        for name in [
            "spawn<join_trapped::run::{closure_env#0}, u32>",
            "call_once<wasm_threadlink::thread::spawn::{closure_env#0}<join_trapped::run::{closure_env#0}, u32>, ()>",
            "map_err<wasm_threadlink::thread::Packet<u32>, wasm_threadlink::thread::{impl#1}::join::{closure_env#0}<u32>>",
            "drop_glue<std::thread::lifecycle::spawn_unchecked::{closure#1}::{closure#0}::{closure_env#0}<fn(), ()>>",
            "f<other::run::{closure_env#0}>",
        ] {
            q.learn_dwarf_name(name);
        }
        for name in [
            "core::ops::function::FnOnce::call_once",
            "alloc::sync::Arc<T>::new",
            "alloc::sync::Weak<T>::new",
            "alloc::boxed::Box<T>::new",
            "plain_c_function",
        ] {
            q.learn_full_name(name);
        }
        q
    }

    const THREAD_RS: &str = "/work/main/guests/threadlink/wasm-threadlink/src/thread.rs";
    const LIB_RS: &str = "/work/main/guests/threadlink/programs/join_trapped/src/lib.rs";

    #[test]
    fn closures_are_qualified_through_their_environment_types() {
        let q = learned();
        // Generic closure: its arguments are its parent's, which names it exactly.
        assert_eq!(
            q.qualify(
                "{closure#0}<join_trapped::run::{closure_env#0}, u32>",
                Some(THREAD_RS)
            ),
            Some("wasm_threadlink::thread::spawn::{{closure}}".into())
        );
        // Non-generic closure #0: two candidates, the file's crate decides.
        assert_eq!(
            q.qualify("{closure#0}", Some(LIB_RS)),
            Some("join_trapped::run::{{closure}}".into())
        );
        assert_eq!(q.qualify("{closure#0}", None), None);
        assert_eq!(
            q.qualify("{closure#0}", Some("/x/unrelated/src/lib.rs")),
            None
        );
        // Nested closures and `{impl#N}` segments.
        assert_eq!(
            q.qualify("{closure#0}<u32>", Some(THREAD_RS)),
            Some("wasm_threadlink::thread::{impl#1}::join::{{closure}}".into())
        );
        // Nested closures sharing their parent's arguments: `{closure#1}::{closure#0}`
        // and its own `{closure#0}` both fit, so the name is left short.
        assert_eq!(q.qualify("{closure#0}<fn(), ()>", None), None);
    }

    #[test]
    fn functions_are_qualified_by_their_closures_or_the_name_section() {
        let q = learned();
        assert_eq!(
            q.qualify(
                "spawn<join_trapped::run::{closure_env#0}, u32>",
                Some(THREAD_RS)
            ),
            Some("wasm_threadlink::thread::spawn".into())
        );
        let function_rs = "/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ops/function.rs";
        assert_eq!(
            q.qualify("call_once<F, ()>", Some(function_rs)),
            Some("core::ops::function::FnOnce::call_once".into())
        );
        // `new` in boxed.rs: the module decides between three `new`s.
        let boxed_rs = "/rustc/abc/library/alloc/src/boxed.rs";
        assert_eq!(
            q.qualify("new<u8>", Some(boxed_rs)),
            Some("alloc::boxed::Box<T>::new".into())
        );
        // Two `new`s in sync.rs: ambiguous, left alone.
        assert_eq!(
            q.qualify("new<u8>", Some("/rustc/abc/library/alloc/src/sync.rs")),
            None
        );
        assert_eq!(q.qualify("unknown", Some(boxed_rs)), None);
        // A unique name-section candidate from another crate is not taken: `alloc`
        // inlined from alloc.rs is not the allocator's `alloc` method.
        let mut q = Qualifier::default();
        q.learn_full_name("<dlmalloc::sys::System as dlmalloc::Allocator>::alloc");
        assert_eq!(
            q.qualify("alloc", Some("/rustc/abc/library/alloc/src/alloc.rs")),
            None
        );
        assert_eq!(q.qualify("alloc", None), None);
        assert_eq!(
            q.qualify(
                "alloc",
                Some("/r/.cargo/registry/src/i/dlmalloc-0.2.10/src/sys.rs")
            ),
            Some("<dlmalloc::sys::System as dlmalloc::Allocator>::alloc".into())
        );
    }

    #[test]
    fn binary_crates_are_named_by_their_compilation_units() {
        let mut q = Qualifier::default();
        q.learn_dwarf_name("spawn<racy::main::{closure_env#0}, ()>");
        q.learn_dwarf_name("f<std::rt::lang_start::{closure_env#0}>");
        let main_rs = "/home/u/tests/fixture/src/main.rs";
        // The directory says `fixture`, which is no crate.
        assert_eq!(q.qualify("{closure#0}", Some(main_rs)), None);
        q.learn_unit(
            Some("/home/u/tests/fixture"),
            "src/main.rs/@/racy.9ad56ef450f63e7b-cgu.0",
        );
        q.learn_unit(None, "no-separator");
        assert_eq!(
            q.qualify("{closure#0}", Some(main_rs)),
            Some("racy::main::{{closure}}".into())
        );
    }

    #[test]
    fn name_helpers() {
        assert_eq!(split_generics("a<b<c>, d>"), ("a", "<b<c>, d>"));
        assert_eq!(split_generics("plain"), ("plain", ""));
        assert_eq!(split_generics("broken>"), ("broken>", ""));
        assert!(is_qualified("core::ptr::write_volatile<u32>"));
        assert!(is_qualified("<T as core::clone::Clone>::clone"));
        assert!(!is_qualified(
            "spawn<join_trapped::run::{closure_env#0}, u32>"
        ));
        assert_eq!(display_short("{closure#12}<u32>"), "{{closure}}");
        assert_eq!(display_short("call_once<F, ()>"), "call_once");
        assert_eq!(normalize("{closure#x}"), "{closure#x}");
        assert_eq!(last_segment("a::B<c::D>::e"), "e");
        assert_eq!(last_segment("single"), "single");
        assert_eq!(
            segments("<alloc::sync::Arc<T> as core::clone::Clone>::clone")[..3],
            ["alloc", "sync", "Arc<T> as core"]
        );
        let none = HashMap::new();
        assert_eq!(
            module_hint(
                "/root/.cargo/registry/src/index/spin-0.9.8/src/mutex/mod.rs",
                &none
            ),
            Some(("spin".to_string(), vec!["mutex".to_string()]))
        );
        assert_eq!(
            module_hint(LIB_RS, &none),
            Some(("join_trapped".to_string(), vec![]))
        );
        assert_eq!(module_hint("noslash.c", &none), None);
    }
}
