//! Mapping from code offsets of the instrumented module back to code offsets of the input.

use std::ops::Range;

/// One function body of the instrumented module that came from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct BodyMap {
    /// Input function index.
    pub input_func: u32,
    /// Module-relative byte range of the body in the instrumented module.
    pub instrumented: Range<u32>,
    /// Module-relative byte range of the body in the input module.
    pub input: Range<u32>,
}

/// Sorted `(instrumented_offset, input_offset)` pairs, one per input instruction, plus the body
/// ranges needed to refuse offsets outside any input body (hooks, helpers, other sections).
///
/// Each pair's instrumented offset is where the code emitted for that input instruction starts
/// (the instrumentation before it, or the instruction itself), so every byte of instrumentation,
/// including a hook call after the instruction, maps back to the instruction it instruments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OffsetMap {
    /// Sorted by instrumented offset (strictly increasing).
    pub entries: Vec<(u32, u32)>,
    /// Sorted by instrumented range, non-overlapping.
    pub bodies: Vec<BodyMap>,
}

impl OffsetMap {
    /// Input code offset of the input instruction whose instrumented code contains
    /// `instrumented_offset`, or `None` if that offset is not inside code from the input.
    pub fn lookup(&self, instrumented_offset: u32) -> Option<u32> {
        let body = self.body_of(instrumented_offset)?;
        let i = self
            .entries
            .partition_point(|&(new, _)| new <= instrumented_offset);
        let (new, old) = *self.entries.get(i.checked_sub(1)?)?;
        // Offsets in the locals declaration precede the body's first instruction.
        (new >= body.instrumented.start).then_some(old)
    }

    /// The body containing `instrumented_offset`, if it came from the input.
    pub fn body_of(&self, instrumented_offset: u32) -> Option<&BodyMap> {
        let i = self
            .bodies
            .partition_point(|b| b.instrumented.start <= instrumented_offset);
        let body = self.bodies.get(i.checked_sub(1)?)?;
        body.instrumented
            .contains(&instrumented_offset)
            .then_some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> OffsetMap {
        OffsetMap {
            entries: vec![(12, 100), (20, 103), (40, 200)],
            bodies: vec![
                BodyMap {
                    input_func: 0,
                    instrumented: 10..30,
                    input: 98..105,
                },
                BodyMap {
                    input_func: 1,
                    instrumented: 35..45,
                    input: 198..202,
                },
            ],
        }
    }

    #[test]
    fn instrumentation_bytes_map_to_the_instruction_they_precede_or_follow() {
        let m = map();
        assert_eq!(m.lookup(12), Some(100));
        assert_eq!(m.lookup(19), Some(100));
        assert_eq!(m.lookup(29), Some(103));
        assert_eq!(m.lookup(44), Some(200));
    }

    #[test]
    fn offsets_outside_input_code_map_to_nothing() {
        let m = map();
        assert_eq!(m.lookup(5), None, "before any body");
        assert_eq!(m.lookup(10), None, "locals declaration of body 0");
        assert_eq!(m.lookup(32), None, "between bodies");
        assert_eq!(
            m.lookup(37),
            None,
            "locals of body 1 must not map to body 0"
        );
        assert_eq!(m.lookup(45), None, "after the last body");
        assert_eq!(m.body_of(40).map(|b| b.input_func), Some(1));
    }
}
