//! Demangling of Rust (legacy and v0) and, with the `cpp` feature, Itanium C++ names.

/// Returns the human-readable form of a symbol name, or the name unchanged when it is
/// not mangled.
///
/// Rust names are printed without their hash (`racy::bump`, not
/// `racy::bump::h0123456789abcdef`), like TSan and Rust backtraces do.
pub fn demangle(name: &str) -> String {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        // `{:#}` omits the trailing hash of legacy names and the crate
        // disambiguators of v0 names.
        return format!("{d:#}");
    }
    #[cfg(feature = "cpp")]
    if name.starts_with("_Z") {
        if let Some(d) = cpp_demangle::Symbol::new(name.as_bytes())
            .ok()
            .and_then(|s| s.demangle(&cpp_demangle::DemangleOptions::default()).ok())
        {
            return d;
        }
    }
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn rust_legacy_without_hash() {
        assert_eq!(demangle("_ZN4racy4bump17h14a5a9eeefed3a4eE"), "racy::bump");
    }

    #[test]
    fn rust_legacy_closure() {
        assert_eq!(
            demangle("_ZN4racy4main28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE"),
            "racy::main::{{closure}}"
        );
    }

    #[test]
    fn rust_v0_without_disambiguators() {
        assert_eq!(demangle("_RNvCs1234_4racy4bump"), "racy::bump");
    }

    #[cfg(feature = "cpp")]
    #[test]
    fn cpp_itanium() {
        assert_eq!(demangle("_ZN2ns3fooEi"), "ns::foo(int)");
    }

    #[test]
    fn plain_names_unchanged() {
        assert_eq!(demangle("pthread_mutex_lock"), "pthread_mutex_lock");
        assert_eq!(demangle("_Znot valid"), "_Znot valid");
    }
}
