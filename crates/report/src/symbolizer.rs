//! Mapping module-relative code offsets to functions and source locations, and data
//! addresses to global variables.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::demangle::demangle;
use crate::dwarf::{load_dwarf, DwarfReader};
use crate::error::ReportError;
use crate::frame::Frame;
use crate::globals::{GlobalSymbol, GlobalTable};
use crate::module_info::ModuleInfo;

/// How many symbolized offsets the cache keeps before it starts over; reports hit a
/// few hundred distinct sites at most, so this bounds memory without mattering.
const CACHE_CAPACITY: usize = 4096;

/// Symbolizes locations of one module, built once per run from the module exactly as
/// the user gave it (all offsets are module-relative code offsets of that module).
///
/// Works with any subset of debug info: DWARF gives inlined frames, files and lines;
/// the `name` section gives function names; without either, frames print as
/// `wasm-function[12]+0x34`.
pub struct Symbolizer {
    module: ModuleInfo,
    globals: GlobalTable,
    /// `addr2line::Context` caches lazily through `OnceCell`, so it is not `Sync`; the
    /// mutex makes the symbolizer shareable between threads.
    dwarf: Option<Mutex<addr2line::Context<DwarfReader>>>,
    cache: Mutex<HashMap<u32, Vec<Frame>>>,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("functions", &self.module.bodies.len())
            .field("names", &self.module.names.len())
            .field("globals", &self.globals.len())
            .field("dwarf", &self.dwarf.is_some())
            .finish()
    }
}

impl Symbolizer {
    /// Reads the module's function bodies, `name` section and DWARF.
    ///
    /// Fails if the module itself is malformed or its `.debug_info` cannot be parsed;
    /// a module without debug info or names is fine.
    pub fn new(original_wasm: &[u8]) -> Result<Symbolizer, ReportError> {
        let module = ModuleInfo::parse(original_wasm)?;
        let (globals, dwarf) = if module.debug_sections.is_empty() {
            (GlobalTable::default(), None)
        } else {
            let bytes: Arc<[u8]> = Arc::from(original_wasm);
            match load_dwarf(&bytes, &module.debug_sections)? {
                Some(dwarf) => {
                    let globals = GlobalTable::from_dwarf(&dwarf)?;
                    let context = addr2line::Context::from_dwarf(dwarf)?;
                    (globals, Some(Mutex::new(context)))
                }
                None => (GlobalTable::default(), None),
            }
        };
        Ok(Symbolizer {
            module,
            globals,
            dwarf,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the module carries DWARF debug info.
    pub fn has_dwarf(&self) -> bool {
        self.dwarf.is_some()
    }

    /// The frames at `code_offset`, innermost first: the functions inlined there (from
    /// DWARF) followed by the physical function. Never empty: an offset outside every
    /// function still yields one frame carrying just the offset.
    pub fn frames(&self, code_offset: u32) -> Vec<Frame> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(frames) = cache.get(&code_offset) {
            return frames.clone();
        }
        let frames = self.symbolize(code_offset);
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(code_offset, frames.clone());
        frames
    }

    /// Symbolizes a whole call stack given as code offsets, innermost first (the
    /// accessing instruction, then each caller's call instruction).
    pub fn stack(&self, code_offsets: &[u32]) -> Vec<Frame> {
        code_offsets.iter().flat_map(|&o| self.frames(o)).collect()
    }

    /// Index of the function whose body contains `code_offset`.
    pub fn function_of(&self, code_offset: u32) -> Option<u32> {
        self.module.body_of(code_offset).map(|b| b.index)
    }

    /// Demangled name of a function from the `name` section.
    pub fn function_name(&self, func_index: u32) -> Option<&str> {
        self.module.names.get(&func_index).map(String::as_str)
    }

    /// The global variable (from DWARF) containing linear-memory address `addr`.
    pub fn describe_address(&self, addr: u32) -> Option<GlobalSymbol> {
        self.globals.lookup(addr).cloned()
    }

    fn symbolize(&self, code_offset: u32) -> Vec<Frame> {
        let body = self.module.body_of(code_offset);
        let func_index = body.map(|b| b.index);
        let template = Frame {
            func_index,
            code_offset: Some(code_offset),
            function_offset: body.map(|b| code_offset - b.start),
            ..Frame::default()
        };
        let mut frames = self.dwarf_frames(code_offset, &template);
        if frames.is_empty() {
            frames.push(template);
        }
        // The outermost frame is the physical function: the name section names it
        // when DWARF does not.
        if let (Some(outer), Some(index)) = (frames.last_mut(), func_index) {
            if outer.function.is_none() {
                outer.function = self.function_name(index).map(str::to_string);
            }
        }
        frames
    }

    /// Frames from DWARF; empty when there is no DWARF for the offset or it is broken
    /// there (reports degrade to names rather than fail).
    fn dwarf_frames(&self, code_offset: u32, template: &Frame) -> Vec<Frame> {
        let (Some(dwarf), Some(base)) = (&self.dwarf, self.module.code_payload_start) else {
            return Vec::new();
        };
        // DWARF code addresses in wasm are relative to the Code section's payload.
        let Some(probe) = code_offset.checked_sub(base) else {
            return Vec::new();
        };
        let context = dwarf.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        let Ok(mut iter) = context.find_frames(u64::from(probe)).skip_all_loads() else {
            return out;
        };
        while let Ok(Some(frame)) = iter.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|f| f.raw_name().ok())
                .map(|raw| demangle(&raw));
            let (file, line, column) = match &frame.location {
                Some(loc) => (
                    loc.file.map(str::to_string),
                    loc.line,
                    loc.column.filter(|&c| c != 0),
                ),
                None => (None, None, None),
            };
            out.push(Frame {
                function,
                file,
                line,
                column,
                ..template.clone()
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Symbolizer;

    /// The runtime shares one symbolizer between the threads that report findings.
    #[test]
    fn symbolizer_is_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Symbolizer>();
    }
}
