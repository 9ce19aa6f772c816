//! The message printed when a thread traps: the trap and its symbolized wasm backtrace.

use std::io::{self, Write};

use crate::{demangle, Frame, Symbolizer};

/// One frame of a trap's backtrace, as the runtime knows it.
#[derive(Debug, Clone, Copy)]
pub struct RawTrapFrame<'a> {
    pub func_index: u32,
    /// Name-section name (mangled), if any.
    pub name: Option<&'a str>,
    /// Code offset in the module the user gave; `None` in code wasmgrind added.
    pub offset: Option<u32>,
}

/// Symbolizes a backtrace: DWARF (with inlined frames) where the offset is known,
/// else the demangled name.
pub fn symbolize_trap(frames: &[RawTrapFrame<'_>], symbolizer: Option<&Symbolizer>) -> Vec<Frame> {
    let mut out = Vec::new();
    for raw in frames {
        match (raw.offset, symbolizer) {
            (Some(offset), Some(sym)) => out.extend(sym.frames(offset)),
            _ => out.push(Frame {
                func_index: Some(raw.func_index),
                function: raw.name.map(demangle),
                code_offset: raw.offset,
                ..Frame::default()
            }),
        }
    }
    out
}

/// Writes `wasmgrind: thread N trapped: <trap>` and the frames, one `#i` line each.
pub fn write_trap<W: Write + ?Sized>(
    out: &mut W,
    thread: u32,
    trap: &str,
    frames: &[Frame],
) -> io::Result<()> {
    let mut text = format!("wasmgrind: thread {thread} trapped: {trap}\n");
    for (i, frame) in frames.iter().enumerate() {
        text.push_str(&format!("    #{i} {frame}\n"));
    }
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_demangled_without_a_symbolizer() {
        let raw = [
            RawTrapFrame {
                func_index: 3,
                name: Some("_ZN4racy4bump17h0123456789abcdefE"),
                offset: Some(0x40),
            },
            RawTrapFrame {
                func_index: 9,
                name: None,
                offset: None,
            },
        ];
        let frames = symbolize_trap(&raw, None);
        let mut out = Vec::new();
        write_trap(
            &mut out,
            2,
            "wasm `unreachable` instruction executed",
            &frames,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "wasmgrind: thread 2 trapped: wasm `unreachable` instruction executed"
        );
        assert!(lines[1].starts_with("    #0 racy::bump"), "{text}");
        assert!(lines[2].starts_with("    #1 wasm-function[9]"), "{text}");
    }

    #[test]
    fn offsets_are_symbolized_through_the_name_section() {
        let wasm =
            wat::parse_str(r#"(module (func $first nop) (func $second unreachable))"#).unwrap();
        let sym = Symbolizer::new(&wasm).unwrap();
        // Find `unreachable` independently.
        let mut offset = None;
        for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let mut reader = body.get_operators_reader().unwrap();
                while !reader.eof() {
                    let (op, at) = reader.read_with_offset().unwrap();
                    if matches!(op, wasmparser::Operator::Unreachable) {
                        offset = Some(at as u32);
                    }
                }
            }
        }
        let raw = [RawTrapFrame {
            func_index: 1,
            name: Some("second"),
            offset,
        }];
        let frames = symbolize_trap(&raw, Some(&sym));
        assert_eq!(frames[0].function.as_deref(), Some("second"));
    }
}
