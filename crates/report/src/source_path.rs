//! Shortening of DWARF source paths for display.

use std::borrow::Cow;

/// Shortens an absolute DWARF source path to the form reports print.
///
/// - Rust's standard library (`/rustc/<commit>/library/core/src/ptr/mod.rs`) becomes
///   `library/core/src/ptr/mod.rs`.
/// - Crates from cargo's registry or git checkouts
///   (`~/.cargo/registry/src/<index>/foo-1.2.3/src/lib.rs`) become
///   `foo-1.2.3/src/lib.rs`.
/// - Other absolute paths containing `/src/` are made relative to their crate root,
///   the directory holding the last `src` component (`/home/u/racy/src/main.rs`
///   becomes `src/main.rs`).
/// - Everything else is returned unchanged.
pub fn display_path(path: &str) -> Cow<'_, str> {
    if !path.starts_with('/') {
        return Cow::Borrowed(path);
    }
    if let Some(rest) = path.strip_prefix("/rustc/") {
        // `/rustc/<commit hash>/library/...`
        if let Some((_, after_hash)) = rest.split_once('/') {
            return Cow::Borrowed(after_hash);
        }
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

#[cfg(test)]
mod tests {
    use super::display_path;

    #[test]
    fn user_crate_is_relative_to_its_root() {
        assert_eq!(display_path("/home/u/racy/src/main.rs"), "src/main.rs");
        assert_eq!(
            display_path("/usr/src/app/src/util/mod.rs"),
            "src/util/mod.rs"
        );
    }

    #[test]
    fn std_paths_stay_recognisable() {
        assert_eq!(
            display_path(
                "/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/core/src/ptr/mod.rs"
            ),
            "library/core/src/ptr/mod.rs"
        );
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
