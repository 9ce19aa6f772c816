//! The index remapping applied to everything copied from the input.

use std::convert::Infallible;
use wasm_encoder::reencode::{Error, Reencode};

use crate::Hook;

/// Shifts every function index by the number of hook imports prepended to the function index
/// space; every other index space is unchanged (the pass only appends to them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Remap;

impl Reencode for Remap {
    type Error = Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, Error<Infallible>> {
        Ok(func + Hook::COUNT)
    }
}
