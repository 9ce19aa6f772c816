//! Where a module's linear memory holds static data, the main thread's stack and
//! the heap, as far as the linker's globals tell.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The layout of linear memory that wasm-ld gives a module, for classifying
/// addresses as global data, the main thread's stack or the heap.
///
/// Every field is `None` when the module does not tell (no name section, no
/// exports of the linker symbols, imported globals, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataLayout {
    /// The initial value of `__stack_pointer`: the top of the main thread's stack
    /// (stacks grow down).
    pub stack_pointer_init: Option<u32>,
    /// The main thread's stack, `[low, sp_init)`.
    pub main_stack: Option<Range<u32>>,
    /// Static data: from the lowest active data segment to `__data_end`.
    pub data: Option<Range<u32>>,
    /// Where the heap starts: `__heap_base` when the module names it, else the end
    /// of whichever of the main stack and static data lies higher (wasm-ld puts the
    /// heap right after both). Everything at or above it is heap, threads' stacks
    /// included (their runtimes allocate them there).
    pub heap_base: Option<u32>,
}

impl DataLayout {
    /// Whether `addr` lies in the main thread's stack.
    pub fn in_main_stack(&self, addr: u32) -> bool {
        self.main_stack.as_ref().is_some_and(|r| r.contains(&addr))
    }

    /// Whether `addr` lies in the heap (at or above `__heap_base`).
    pub fn in_heap(&self, addr: u32) -> bool {
        self.heap_base.is_some_and(|base| addr >= base)
    }

    /// Whether `addr` lies in the static data.
    pub fn in_data(&self, addr: u32) -> bool {
        self.data.as_ref().is_some_and(|r| r.contains(&addr))
    }
}

/// A global defined (not imported) by the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DefinedGlobal {
    /// Index in the global index space (imports first).
    pub index: u32,
    /// Whether the global is mutable.
    pub mutable: bool,
    /// The value of an `i32.const` initializer; `None` for other types and
    /// initializers.
    pub i32_init: Option<u32>,
}

/// What the module says about its globals and data, gathered while parsing it.
#[derive(Debug, Default)]
pub(crate) struct LayoutFacts {
    /// Defined globals in index order.
    pub globals: Vec<DefinedGlobal>,
    /// Names of globals from the `name` section, by global index.
    pub global_names: HashMap<u32, String>,
    /// Exported globals: export name to global index.
    pub global_exports: HashMap<String, u32>,
    /// Address ranges of static data: active data segments with constant offsets,
    /// and what `__wasm_init_memory` initializes in shared memories.
    pub data_segments: Vec<Range<u32>>,
}

impl LayoutFacts {
    /// The global called `name`, by export or by the `name` section.
    fn global_named(&self, name: &str) -> Option<&DefinedGlobal> {
        let index = self.global_exports.get(name).copied().or_else(|| {
            self.global_names
                .iter()
                .find(|(_, n)| n.as_str() == name)
                .map(|(&i, _)| i)
        })?;
        self.globals.iter().find(|g| g.index == index)
    }

    /// The constant value of the global called `name`.
    fn value_of(&self, name: &str) -> Option<u32> {
        self.global_named(name)?.i32_init
    }

    /// `__stack_pointer`: by name, else the first mutable `i32` global initialized by
    /// a constant (wasm-ld always emits it first).
    fn stack_pointer_init(&self) -> Option<u32> {
        match self.global_named("__stack_pointer") {
            Some(global) => global.i32_init,
            None => self
                .globals
                .iter()
                .find(|g| g.mutable && g.i32_init.is_some())
                .and_then(|g| g.i32_init),
        }
    }

    /// Derives the layout.
    ///
    /// The main stack's bottom is `__stack_low` when exported; else, with
    /// `--stack-first` (the stack top lies at or below all static data), address 0;
    /// else (stack after data) the end of static data.
    pub fn layout(&self) -> DataLayout {
        let sp = self.stack_pointer_init();
        let segments_start = self.data_segments.iter().map(|r| r.start).min();
        let segments_end = self.data_segments.iter().map(|r| r.end).max();
        let data_end = self.value_of("__data_end").or(segments_end);
        let data_start =
            self.value_of("__global_base")
                .or(segments_start)
                .or(match (sp, data_end) {
                    // Stack-first without visible segments: data begins at the stack top.
                    (Some(sp), Some(end)) if sp <= end => Some(sp),
                    _ => None,
                });
        let data = match (data_start, data_end) {
            (Some(start), Some(end)) if start < end => Some(start..end),
            _ => None,
        };
        let main_stack = sp.and_then(|top| {
            let low = match self.value_of("__stack_low") {
                Some(low) => low,
                None => match &data {
                    Some(d) if top <= d.start => 0,
                    Some(d) => d.end,
                    None => return None,
                },
            };
            (low < top).then_some(low..top)
        });
        let heap_base = self.value_of("__heap_base").or_else(|| {
            let data_end = data.as_ref()?.end;
            Some(sp.map_or(data_end, |sp| sp.max(data_end)))
        });
        DataLayout {
            stack_pointer_init: sp,
            main_stack,
            data,
            heap_base,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(index: u32, mutable: bool, value: u32) -> DefinedGlobal {
        DefinedGlobal {
            index,
            mutable,
            i32_init: Some(value),
        }
    }

    #[test]
    fn stack_first_layout() {
        // Rust's wasm32 default: 1 MiB stack at the bottom, data above it.
        let facts = LayoutFacts {
            globals: vec![
                global(0, true, 0x10_0000),
                global(1, false, 0x10_2000),
                global(2, false, 0x10_2010),
            ],
            global_exports: HashMap::from([
                ("__data_end".to_string(), 1),
                ("__heap_base".to_string(), 2),
            ]),
            data_segments: vec![0x10_0000..0x10_1000, 0x10_1000..0x10_1ff0],
            ..LayoutFacts::default()
        };
        let layout = facts.layout();
        assert_eq!(layout.stack_pointer_init, Some(0x10_0000));
        assert_eq!(layout.main_stack, Some(0..0x10_0000));
        assert_eq!(layout.data, Some(0x10_0000..0x10_2000));
        assert_eq!(layout.heap_base, Some(0x10_2010));
        assert!(layout.in_main_stack(0xf_fff0));
        assert!(!layout.in_main_stack(0x10_0000));
        assert!(layout.in_data(0x10_0000));
        assert!(layout.in_heap(0x10_2010));
        assert!(!layout.in_heap(0x10_200f));
    }

    #[test]
    fn stack_after_data_layout() {
        // C's classic layout: data from 1024, then the stack, then the heap.
        let facts = LayoutFacts {
            globals: vec![global(0, true, 0x1_0800), global(1, false, 0x0800)],
            global_names: HashMap::from([(0, "__stack_pointer".to_string())]),
            global_exports: HashMap::from([("__data_end".to_string(), 1)]),
            data_segments: vec![0x400..0x600, 0x600..0x7f0],
        };
        let layout = facts.layout();
        assert_eq!(layout.data, Some(0x400..0x800));
        assert_eq!(layout.main_stack, Some(0x800..0x1_0800));
        // Without `__heap_base`, the heap follows the stack.
        assert_eq!(layout.heap_base, Some(0x1_0800));
        assert!(layout.in_heap(u32::MAX));
    }

    #[test]
    fn stack_pointer_found_by_name_not_position() {
        let facts = LayoutFacts {
            globals: vec![global(0, true, 7), global(1, true, 0x8000)],
            global_names: HashMap::from([(1, "__stack_pointer".to_string())]),
            global_exports: HashMap::from([("__stack_low".to_string(), 2)]),
            ..LayoutFacts::default()
        };
        // `__stack_low` names a global that does not exist: ignored, and without
        // data the stack's extent and the heap are unknown.
        assert_eq!(facts.layout().stack_pointer_init, Some(0x8000));
        assert_eq!(facts.layout().main_stack, None);
        assert_eq!(facts.layout().heap_base, None);
        let facts = LayoutFacts {
            globals: vec![global(0, true, 0x8000), global(1, false, 0x1000)],
            global_exports: HashMap::from([("__stack_low".to_string(), 1)]),
            ..LayoutFacts::default()
        };
        assert_eq!(facts.layout().main_stack, Some(0x1000..0x8000));
    }

    #[test]
    fn nothing_known_gives_an_empty_layout() {
        let layout = LayoutFacts::default().layout();
        assert_eq!(layout, DataLayout::default());
        assert!(!layout.in_main_stack(0));
        assert!(!layout.in_heap(0));
        assert!(!layout.in_data(0));
    }
}
