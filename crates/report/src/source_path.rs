//! Shortening of DWARF source paths for display, and recognising paths of the
//! standard library and the system C library.

use std::borrow::Cow;

/// Where the Rust standard library's sources live inside a rustup toolchain (the
/// `rust-src` component, which nightly `-Z build-std` compiles from).
const RUSTUP_RUST_SRC: &str = "/lib/rustlib/src/rust/";

/// The URL-like prefix wasi-sdk's build remaps its source and build trees to
/// (`-fdebug-prefix-map`), e.g. `wasisdk://v30.0/src/wasi-libc/...`.
const WASI_SDK_PREFIX: &str = "wasisdk://";

/// Shortens a DWARF source path to the form reports print.
///
/// - Rust's standard library, whether prebuilt (`/rustc/<commit>/library/core/src/ptr/mod.rs`)
///   or built from a rustup toolchain's `rust-src` by `-Z build-std`
///   (`~/.rustup/toolchains/<toolchain>/lib/rustlib/src/rust/library/core/src/ptr/mod.rs`),
///   becomes `library/core/src/ptr/mod.rs`.
/// - wasi-sdk sources (wasi-libc, compiler-rt) recorded as
///   `wasisdk://v30.0/build/.../wasisdk://v30.0/src/wasi-libc/libc-bottom-half/sources/abort.c`
///   become `wasi-libc/libc-bottom-half/sources/abort.c`: the part after the last
///   `wasisdk://`, without the version and `src/` directories.
/// - Crates from cargo's registry or git checkouts
///   (`~/.cargo/registry/src/<index>/foo-1.2.3/src/lib.rs`) become
///   `foo-1.2.3/src/lib.rs`.
/// - Other absolute paths containing `/src/` are made relative to their crate root,
///   the directory holding the last `src` component (`/home/u/racy/src/main.rs`
///   becomes `src/main.rs`).
/// - Everything else is returned unchanged.
pub fn display_path(path: &str) -> Cow<'_, str> {
    if let Some(rest) = wasi_sdk_relative(path) {
        return Cow::Borrowed(rest);
    }
    if !path.starts_with('/') {
        return Cow::Borrowed(path);
    }
    if let Some(rest) = path.strip_prefix("/rustc/") {
        // `/rustc/<commit hash>/library/...`: drop the hash.
        if let Some((_, after_hash)) = rest.split_once('/') {
            return Cow::Borrowed(after_hash);
        }
    }
    if let Some(library) = rust_library_relative(path) {
        return Cow::Borrowed(library);
    }
    for marker in ["/.cargo/registry/src/", "/.cargo/git/checkouts/"] {
        if let Some(pos) = path.find(marker) {
            // Skip the index (or repository) directory: `<index>/<crate-version>/...`.
            let rest = &path[pos + marker.len()..];
            if let Some((_, krate)) = rest.split_once('/') {
                return Cow::Borrowed(krate);
            }
        }
    }
    match path.rfind("/src/") {
        Some(pos) => Cow::Borrowed(&path[pos + 1..]),
        None => Cow::Borrowed(path),
    }
}

/// Whether `path` is a source file of Rust's standard library (`core`, `alloc`,
/// `std`, ...), prebuilt (`/rustc/<commit>/library/`) or built from rustup's
/// `rust-src` component.
pub(crate) fn is_rust_library(path: &str) -> bool {
    rust_library_relative(path).is_some()
}

/// Whether `path` is a source file of the system libraries wasi-sdk links in
/// (wasi-libc, compiler-rt, libc++), recognised by wasi-sdk's `wasisdk://` prefix
/// or a `wasi-libc` directory.
pub(crate) fn is_wasi_sdk(path: &str) -> bool {
    path.contains(WASI_SDK_PREFIX) || path.contains("/wasi-libc/") || path.starts_with("wasi-libc/")
}

/// `library/...` for a standard library path, else `None`.
fn rust_library_relative(path: &str) -> Option<&str> {
    if let Some(rest) = path.strip_prefix("/rustc/") {
        // `/rustc/<commit hash>/library/...`
        let (_, after_hash) = rest.split_once('/')?;
        return after_hash.starts_with("library/").then_some(after_hash);
    }
    let pos = path.find(RUSTUP_RUST_SRC)?;
    let rest = &path[pos + RUSTUP_RUST_SRC.len()..];
    rest.starts_with("library/").then_some(rest)
}

/// The part of a wasi-sdk path after its last `wasisdk://<version>/` (and a
/// following `src/`), else `None`.
fn wasi_sdk_relative(path: &str) -> Option<&str> {
    let pos = path.rfind(WASI_SDK_PREFIX)?;
    let rest = &path[pos + WASI_SDK_PREFIX.len()..];
    // `<version>/src/<project>/...`; keep the rest whole if it has fewer parts.
    let (_, after_version) = rest.split_once('/')?;
    let shortened = after_version.strip_prefix("src/").unwrap_or(after_version);
    (!shortened.is_empty()).then_some(shortened)
}

#[cfg(test)]
mod tests {
    use super::{display_path, is_rust_library, is_wasi_sdk};

    const RUSTUP_CORE: &str = "/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ops/function.rs";
    const WASI_ABORT: &str = "wasisdk://v30.0/build/sysroot/wasi-libc-wasm32-wasip1-threads-build-prefix/src/wasi-libc-wasm32-wasip1-threads-build-build/wasisdk://v30.0/src/wasi-libc/libc-bottom-half/sources/abort.c";

    #[test]
    fn user_crate_is_relative_to_its_root() {
        assert_eq!(display_path("/home/u/racy/src/main.rs"), "src/main.rs");
        assert_eq!(
            display_path("/usr/src/app/src/util/mod.rs"),
            "src/util/mod.rs"
        );
        assert!(!is_rust_library("/home/u/racy/src/main.rs"));
        assert!(!is_wasi_sdk("/home/u/racy/src/main.rs"));
    }

    #[test]
    fn std_paths_stay_recognisable() {
        let prebuilt =
            "/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/core/src/ptr/mod.rs";
        assert_eq!(display_path(prebuilt), "library/core/src/ptr/mod.rs");
        assert!(is_rust_library(prebuilt));
    }

    #[test]
    fn rustup_rust_src_paths_are_the_standard_library() {
        assert_eq!(
            display_path(RUSTUP_CORE),
            "library/core/src/ops/function.rs"
        );
        assert!(is_rust_library(RUSTUP_CORE));
        // Another toolchain and home directory, and `alloc`.
        let alloc = "/home/me/.rustup/toolchains/nightly-2025-01-01-aarch64-apple-darwin/lib/rustlib/src/rust/library/alloc/src/sync.rs";
        assert_eq!(display_path(alloc), "library/alloc/src/sync.rs");
        assert!(is_rust_library(alloc));
        // A user crate that merely has a `src/rust` directory is not std.
        let user = "/home/u/proj/src/rust/library/x.rs";
        assert!(!is_rust_library(user));
        assert_eq!(display_path(user), "src/rust/library/x.rs");
        // `/rustc/` paths outside `library/` still lose their hash, but are not std.
        let compiler = "/rustc/abc/compiler/rustc/src/main.rs";
        assert_eq!(display_path(compiler), "compiler/rustc/src/main.rs");
        assert!(!is_rust_library(compiler));
    }

    #[test]
    fn wasi_libc_paths_are_shortened_to_the_project() {
        assert_eq!(
            display_path(WASI_ABORT),
            "wasi-libc/libc-bottom-half/sources/abort.c"
        );
        assert!(is_wasi_sdk(WASI_ABORT));
        assert!(!is_rust_library(WASI_ABORT));
        assert_eq!(
            display_path("wasisdk://v30.0/src/llvm-project/compiler-rt/lib/builtins/udivti3.c"),
            "llvm-project/compiler-rt/lib/builtins/udivti3.c"
        );
        // Degenerate forms are kept rather than emptied.
        assert_eq!(display_path("wasisdk://v30.0"), "wasisdk://v30.0");
        assert_eq!(display_path("wasisdk://v30.0/"), "wasisdk://v30.0/");
    }

    #[test]
    fn registry_crates_keep_their_name() {
        assert_eq!(
            display_path(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/spin-0.9.8/src/mutex.rs"
            ),
            "spin-0.9.8/src/mutex.rs"
        );
    }

    #[test]
    fn others_unchanged() {
        assert_eq!(display_path("src/main.rs"), "src/main.rs");
        assert_eq!(
            display_path("/opt/wasi-sdk/include/stdio.h"),
            "/opt/wasi-sdk/include/stdio.h"
        );
    }
}
