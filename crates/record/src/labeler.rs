//! Symbolized locations for offline reports: the [`LocationLabeler`] of
//! `wasmgrind analyze --module`, turning a trace's location id into
//! `racy::bump at src/main.rs:14:9` through the metadata's original code offset.

use std::collections::BTreeMap;

use wasmgrind_analysis::render::LocationLabeler;
use wasmgrind_report::Symbolizer;
use wasmgrind_trace::metadata::LocationInfo;

/// Labels locations with the user's module's names and DWARF line tables.
pub struct SymbolLabeler {
    symbolizer: Symbolizer,
    locations: BTreeMap<u32, LocationInfo>,
}

impl SymbolLabeler {
    /// `locations` come from the trace's metadata; `symbolizer` reads the module the
    /// trace was recorded from (as the user gave it).
    pub fn new(symbolizer: Symbolizer, locations: BTreeMap<u32, LocationInfo>) -> Self {
        SymbolLabeler {
            symbolizer,
            locations,
        }
    }
}

impl LocationLabeler for SymbolLabeler {
    fn label(&self, loc: u32) -> Option<String> {
        let offset = u32::try_from(self.locations.get(&loc)?.offset).ok()?;
        let frames = self.symbolizer.frames(offset);
        let first = frames.first()?;
        let mut label = first.to_string();
        // Code inlined from a library: also name the user's function it sits in.
        if first.is_system() {
            if let Some(user) = frames.iter().skip(1).find(|f| !f.is_system()) {
                label.push_str(&format!(" in {user}"));
            }
        }
        Some(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_known_locations_by_function_name_and_skips_unknown_ones() {
        let wasm = wat::parse_str(
            r#"(module
                 (memory 1)
                 (func $first (result i32) i32.const 0 i32.load)
                 (func $second (result i32) i32.const 4 i32.load))"#,
        )
        .unwrap();
        let symbolizer = Symbolizer::new(&wasm).unwrap();
        // The offset of `second`'s load: the last `i32.load` opcode (0x28) in the module.
        let load = wasm.iter().rposition(|&b| b == 0x28).unwrap() as u64;
        let mut locations = BTreeMap::new();
        locations.insert(
            5,
            LocationInfo {
                function: 1,
                offset: load,
            },
        );
        let labeler = SymbolLabeler::new(symbolizer, locations);
        let label = labeler.label(5).unwrap();
        assert!(label.starts_with("second"), "{label}");
        assert_eq!(labeler.label(6), None);
    }
}
