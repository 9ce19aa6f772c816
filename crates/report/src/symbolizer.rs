//! Mapping module-relative code offsets to functions and source locations, and data
//! addresses to global variables.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::data_layout::DataLayout;
use crate::demangle::demangle;
use crate::dwarf::{for_each_name, load_dwarf, DwarfReader};
use crate::error::ReportError;
use crate::finding::AddressDescription;
use crate::frame::Frame;
use crate::globals::{GlobalSymbol, GlobalTable};
use crate::module_info::ModuleInfo;
use crate::qualify::{display_short, is_qualified, Qualifier};

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
    layout: DataLayout,
    /// `addr2line::Context` caches lazily through `OnceCell`, so it is not `Sync`; the
    /// mutex makes the symbolizer shareable between threads.
    dwarf: Option<Mutex<addr2line::Context<DwarfReader>>>,
    /// The module's bytes, kept (shared with the DWARF sections) to build the
    /// qualifier on first need.
    bytes: Option<Arc<[u8]>>,
    /// Full paths for DWARF's short names, built on the first unqualified name
    /// (only DWARF without linkage names, e.g. `line-tables-only`, needs it).
    qualifier: OnceLock<Qualifier>,
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
        let (globals, dwarf, bytes) = if module.debug_sections.is_empty() {
            (GlobalTable::default(), None, None)
        } else {
            let bytes: Arc<[u8]> = Arc::from(original_wasm);
            match load_dwarf(&bytes, &module.debug_sections)? {
                Some(dwarf) => {
                    let globals = GlobalTable::from_dwarf(&dwarf)?;
                    let context = addr2line::Context::from_dwarf(dwarf)?;
                    (globals, Some(Mutex::new(context)), Some(bytes))
                }
                None => (GlobalTable::default(), None, None),
            }
        };
        let layout = module.layout.layout();
        Ok(Symbolizer {
            module,
            globals,
            layout,
            dwarf,
            bytes,
            qualifier: OnceLock::new(),
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

    /// The (demangled) function names at `code_offset`, innermost inlined frame first:
    /// [`Symbolizer::frames`]'s functions, for code classified by name.
    pub fn function_names(&self, code_offset: u32) -> Vec<String> {
        self.frames(code_offset)
            .into_iter()
            .filter_map(|frame| frame.function)
            .collect()
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

    /// Where the module keeps static data, the main thread's stack and the heap, as
    /// far as its linker globals (`__stack_pointer`, `__data_end`, `__heap_base`)
    /// tell.
    pub fn data_layout(&self) -> &DataLayout {
        &self.layout
    }

    /// What linear-memory address `addr` is: a global variable known from DWARF,
    /// the main thread's stack, the heap, or unknown.
    ///
    /// Threads other than the main one keep their stacks in the heap; use
    /// [`Symbolizer::describe_with`] to tell those apart.
    pub fn describe(&self, addr: u32) -> AddressDescription {
        self.describe_with(addr, &[])
    }

    /// Like [`Symbolizer::describe`], with the stacks of threads known to the caller
    /// (`(thread, stack range)`); they are checked before the main stack and the
    /// heap, which they usually lie in.
    pub fn describe_with(
        &self,
        addr: u32,
        thread_stacks: &[(u32, Range<u32>)],
    ) -> AddressDescription {
        if let Some(global) = self.globals.lookup(addr) {
            return AddressDescription::Global(global.clone());
        }
        if let Some((thread, _)) = thread_stacks.iter().find(|(_, r)| r.contains(&addr)) {
            return AddressDescription::Stack { thread: *thread };
        }
        if self.layout.in_main_stack(addr) {
            return AddressDescription::Stack { thread: 0 };
        }
        if self.layout.in_heap(addr) {
            return AddressDescription::Heap;
        }
        AddressDescription::Unknown
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
            frames.push((template, false));
        }
        // The outermost frame is the physical function: the name section names it,
        // fully qualified, when DWARF does not or only by a short name.
        if let (Some((outer, short)), Some(index)) = (frames.last_mut(), func_index) {
            if outer.function.is_none() || *short {
                if let Some(name) = self.function_name(index) {
                    outer.function = Some(name.to_string());
                    *short = false;
                }
            }
        }
        frames
            .into_iter()
            .map(|(mut frame, short)| {
                if short {
                    frame.function = frame
                        .function
                        .map(|name| self.qualify(&name, frame.file.as_deref()));
                }
                frame
            })
            .collect()
    }

    /// The full path for a short Rust name from DWARF, or the short name without
    /// generic arguments when the path is unknown.
    fn qualify(&self, short: &str, file: Option<&str>) -> String {
        let qualifier = self.qualifier.get_or_init(|| self.build_qualifier());
        qualifier
            .qualify(short, file)
            .unwrap_or_else(|| display_short(short))
    }

    fn build_qualifier(&self) -> Qualifier {
        let mut qualifier = Qualifier::default();
        for name in self.module.names.values() {
            qualifier.learn_full_name(name);
        }
        let dwarf = self.bytes.as_ref().and_then(|bytes| {
            load_dwarf(bytes, &self.module.debug_sections)
                .ok()
                .flatten()
        });
        if let Some(dwarf) = dwarf {
            let mut units = Vec::new();
            for_each_name(
                &dwarf,
                |comp_dir, name| units.push((comp_dir.map(str::to_string), name.to_string())),
                |name| qualifier.learn_dwarf_name(name),
            );
            for (comp_dir, name) in units {
                qualifier.learn_unit(comp_dir.as_deref(), &name);
            }
        }
        qualifier
    }

    /// Frames from DWARF, each with whether its name is a short Rust name still to
    /// be qualified; empty when there is no DWARF for the offset or it is broken
    /// there (reports degrade to names rather than fail).
    fn dwarf_frames(&self, code_offset: u32, template: &Frame) -> Vec<(Frame, bool)> {
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
            // addr2line already prefers linkage names (following abstract origins
            // and specifications), which demangle to full paths; DWARF without them
            // leaves a short `DW_AT_name`.
            let name = frame.function.as_ref().and_then(|f| {
                let raw = f.raw_name().ok()?;
                Some((demangle(&raw), f.language == Some(gimli::DW_LANG_Rust)))
            });
            let short = name
                .as_ref()
                .is_some_and(|(n, rust)| *rust && !is_qualified(n));
            let function = name.map(|(n, _)| n);
            let (file, line, column) = match &frame.location {
                Some(loc) => (
                    loc.file.map(str::to_string),
                    loc.line,
                    loc.column.filter(|&c| c != 0),
                ),
                None => (None, None, None),
            };
            out.push((
                Frame {
                    function,
                    file,
                    line,
                    column,
                    ..template.clone()
                },
                short,
            ));
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
