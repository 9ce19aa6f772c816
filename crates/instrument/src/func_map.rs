//! Mapping between function indices of the instrumented module and of the input module.

use crate::Hook;

/// How function indices moved: the hooks were prepended to the function index space, and the
/// pass may have appended helper functions after the input's functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FuncMap {
    /// Number of functions (imported + defined) in the input module.
    pub input_funcs: u32,
    /// Number of functions the pass appended after the input's (helpers).
    pub helper_funcs: u32,
}

impl FuncMap {
    /// By how much every input function index was shifted.
    pub const SHIFT: u32 = Hook::COUNT;

    /// Input function index of instrumented function `index`, or `None` for a hook import or a
    /// generated helper (code that does not exist in the input).
    pub fn to_input(&self, index: u32) -> Option<u32> {
        let input = index.checked_sub(Self::SHIFT)?;
        (input < self.input_funcs).then_some(input)
    }

    /// Instrumented function index of input function `index`, or `None` if out of range.
    pub fn to_instrumented(&self, index: u32) -> Option<u32> {
        (index < self.input_funcs).then(|| index + Self::SHIFT)
    }

    /// Total number of functions in the instrumented module.
    pub fn instrumented_funcs(&self) -> u32 {
        Self::SHIFT + self.input_funcs + self.helper_funcs
    }
}
