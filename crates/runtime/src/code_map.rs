//! Maps code offsets of the module that executes back to the module the user gave.
//!
//! Two rewrites sit in between. Threadify copies every original body to the same
//! offset *within the code section* but changes sections before it, so its offsets are
//! the original ones shifted by the difference of the code sections' starts; the
//! functions it appends have no original offset. The instrumentation pass keeps its
//! own map ([`wasmgrind_instrument::OffsetMap`]) from its output to its input.

use std::ops::Range;

use wasmparser::{Parser, Payload};

use crate::RuntimeError;

/// Executed-module code offset → original-module code offset.
#[derive(Debug, Clone)]
pub struct CodeMap {
    /// Code section payload of the original module (module-relative).
    original_code: Range<u32>,
    /// Code section payload of the prepared (threadified or unchanged) module.
    prepared_code_start: u32,
    instrumented: Option<wasmgrind_instrument::OffsetMap>,
}

impl CodeMap {
    pub fn new(
        original: &[u8],
        prepared: &[u8],
        instrumented: Option<wasmgrind_instrument::OffsetMap>,
    ) -> Result<Self, RuntimeError> {
        Ok(CodeMap {
            original_code: code_section(original)?,
            prepared_code_start: code_section(prepared)?.start,
            instrumented,
        })
    }

    /// The original offset of an executed instruction, or `None` for code that is not
    /// the user's (added by threadify or the instrumentation).
    pub fn to_original(&self, executed: u32) -> Option<u32> {
        let prepared = match &self.instrumented {
            Some(map) => map.lookup(executed)?,
            None => executed,
        };
        let original = prepared
            .checked_sub(self.prepared_code_start)?
            .checked_add(self.original_code.start)?;
        self.original_code.contains(&original).then_some(original)
    }

    /// Maps an offset of the prepared module (as the instrumentation's sites record them).
    pub fn prepared_to_original(&self, prepared: u32) -> Option<u32> {
        let original = prepared
            .checked_sub(self.prepared_code_start)?
            .checked_add(self.original_code.start)?;
        self.original_code.contains(&original).then_some(original)
    }
}

/// The module-relative byte range of the code section's payload (empty if none).
fn code_section(bytes: &[u8]) -> Result<Range<u32>, RuntimeError> {
    for payload in Parser::new(0).parse_all(bytes) {
        if let Payload::CodeSectionStart { range, .. } =
            payload.map_err(|e| RuntimeError::Invalid(e.to_string()))?
        {
            return Ok(range.start as u32..range.end as u32);
        }
    }
    Ok(0..0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_by_code_section_start_and_drops_added_code() {
        let original = wat::parse_str(r#"(module (func (export "f") nop))"#).unwrap();
        // Same body, an extra export and function before/after it.
        let prepared = wat::parse_str(
            r#"(module (type (func)) (func (export "f") nop) (func (export "added_by_patch") nop nop))"#,
        )
        .unwrap();
        let map = CodeMap::new(&original, &prepared, None).unwrap();
        let orig_code = code_section(&original).unwrap();
        let prep_code = code_section(&prepared).unwrap();
        // The first body's `nop` (count byte, body size byte, locals byte, then the op).
        let nop = 3;
        assert_eq!(
            map.to_original(prep_code.start + nop),
            Some(orig_code.start + nop)
        );
        assert_eq!(
            map.to_original(prep_code.end - 2),
            None,
            "code the patch added"
        );
        assert_eq!(map.to_original(0), None);
    }
}
