//! One symbolized stack frame.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::source_path::{display_path, is_rust_library, is_wasi_sdk};

/// One frame of a stack, innermost first in a stack; several frames share one
/// code offset when the compiler inlined functions there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    /// Index of the wasm function containing the code (in the function index space,
    /// imports first). Inlined frames carry the index of the function they were
    /// inlined into.
    pub func_index: Option<u32>,
    /// Demangled function name (`racy::bump`), from DWARF or the name section.
    pub function: Option<String>,
    /// Source file as recorded in DWARF (usually absolute); see [`display_path`]
    /// for the shortened form reports print.
    pub file: Option<String>,
    /// 1-based source line.
    pub line: Option<u32>,
    /// 1-based source column.
    pub column: Option<u32>,
    /// Module-relative code offset of the instruction this frame executes (the call
    /// instruction for callers), in the module as the user gave it.
    pub code_offset: Option<u32>,
    /// `code_offset` relative to the start of the containing function's body, used to
    /// print `wasm-function[12]+0x34` when there are no names.
    pub function_offset: Option<u32>,
}

impl Frame {
    /// A frame known only by its module-relative code offset.
    pub fn from_offset(code_offset: u32) -> Frame {
        Frame {
            code_offset: Some(code_offset),
            ..Frame::default()
        }
    }

    /// The function as reports print it: the demangled name, else
    /// `wasm-function[N]`, else `<unknown>`.
    pub fn function_display(&self) -> String {
        match (&self.function, self.func_index) {
            (Some(name), _) => name.clone(),
            (None, Some(index)) => format!("wasm-function[{index}]"),
            (None, None) => "<unknown>".to_string(),
        }
    }

    /// Whether the frame's source is Rust's standard library: prebuilt
    /// (`/rustc/<commit>/library/`) or built from a rustup toolchain's `rust-src`
    /// (`.../lib/rustlib/src/rust/library/`, as `-Z build-std` does).
    pub fn is_standard_library(&self) -> bool {
        self.file.as_deref().is_some_and(is_rust_library)
    }

    /// Whether the frame is in code the user did not write: Rust's standard library
    /// or the system libraries from wasi-sdk (wasi-libc, compiler-rt). Summaries
    /// skip such frames to point at the user's code.
    pub fn is_system(&self) -> bool {
        self.file
            .as_deref()
            .is_some_and(|f| is_rust_library(f) || is_wasi_sdk(f))
    }

    /// `file:line:column` with the file shortened by [`display_path`], as far as
    /// known; `None` without a file.
    pub fn source_display(&self) -> Option<String> {
        let file = self.file.as_deref()?;
        let mut s = display_path(file).into_owned();
        if let Some(line) = self.line {
            s.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                s.push_str(&format!(":{column}"));
            }
        }
        Some(s)
    }
}

/// Prints the frame the way a report line does, without the `#N` index:
/// `racy::bump at src/main.rs:14:9`, or without source information
/// `racy::bump+0x34` / `wasm-function[12]+0x34`, or just `0x00001234`.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.function.is_none() && self.func_index.is_none() {
            return match (self.source_display(), self.code_offset) {
                (Some(src), _) => write!(f, "<unknown> at {src}"),
                (None, Some(offset)) => write!(f, "0x{offset:08x}"),
                (None, None) => f.write_str("<unknown>"),
            };
        }
        f.write_str(&self.function_display())?;
        match self.source_display() {
            Some(src) => write!(f, " at {src}"),
            None => match self.function_offset {
                Some(off) => write!(f, "+0x{off:x}"),
                None => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_frame() {
        let f = Frame {
            func_index: Some(3),
            function: Some("racy::bump".into()),
            file: Some("/home/u/racy/src/main.rs".into()),
            line: Some(14),
            column: Some(9),
            code_offset: Some(0x1234),
            function_offset: Some(0x34),
        };
        assert_eq!(f.to_string(), "racy::bump at src/main.rs:14:9");
    }

    fn at(file: &str) -> Frame {
        Frame {
            file: Some(file.into()),
            ..Frame::default()
        }
    }

    #[test]
    fn standard_library_and_system_frames() {
        let prebuilt =
            at("/rustc/4d91de4e48198da2e33413efdcd9cd2cc0c46688/library/core/src/ptr/mod.rs");
        let built = at("/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ops/function.rs");
        let libc = at("wasisdk://v30.0/build/sysroot/p/src/b/wasisdk://v30.0/src/wasi-libc/libc-bottom-half/sources/abort.c");
        let user = at("/home/u/racy/src/main.rs");
        for f in [&prebuilt, &built] {
            assert!(f.is_standard_library(), "{f:?}");
            assert!(f.is_system(), "{f:?}");
        }
        assert!(!libc.is_standard_library());
        assert!(libc.is_system());
        assert!(!user.is_standard_library());
        assert!(!user.is_system());
        assert!(!Frame::default().is_system());
        assert_eq!(
            Frame {
                line: Some(250),
                column: Some(5),
                ..built
            }
            .source_display()
            .unwrap(),
            "library/core/src/ops/function.rs:250:5"
        );
    }

    #[test]
    fn line_without_column() {
        let f = Frame {
            function: Some("f".into()),
            file: Some("src/lib.rs".into()),
            line: Some(7),
            ..Frame::default()
        };
        assert_eq!(f.to_string(), "f at src/lib.rs:7");
    }

    #[test]
    fn degrades_without_debug_info() {
        let named = Frame {
            func_index: Some(12),
            function: Some("racy::bump".into()),
            function_offset: Some(0x34),
            ..Frame::default()
        };
        assert_eq!(named.to_string(), "racy::bump+0x34");
        let anonymous = Frame {
            func_index: Some(12),
            function_offset: Some(0x34),
            ..Frame::default()
        };
        assert_eq!(anonymous.to_string(), "wasm-function[12]+0x34");
        assert_eq!(Frame::from_offset(0x1234).to_string(), "0x00001234");
        assert_eq!(Frame::default().to_string(), "<unknown>");
    }
}
