//! wasm-threadify: patches `wasm_threadlink` modules so that every instance of the module
//! (one per thread, all on one shared memory) runs on its own shadow stack with its own
//! TLS block.
//!
//! What the patch adds (nothing else changes: no function imports are added, every
//! original function body is copied byte-for-byte at the same code-section offset, custom
//! sections are kept):
//! - one more page at the end of memory 0's initial size, holding an instance counter, a
//!   lock and a temporary stack (see [`layout`]);
//! - a start routine that runs the original start function, then on every instance after
//!   the first allocates a stack and a TLS block with `__wasmgrind_malloc`, points
//!   `__stack_pointer` at the new stack and calls `__wasm_init_tls`;
//! - the export `__wasmgrind_thread_destroy()` freeing both with `__wasmgrind_free`;
//! - the export `__wasmgrind_reserved_page` (immutable i32 global: the page's address).
//!
//! A memory 0 that the module defines is turned into the import `env.memory`, so every
//! instance can be given the same shared memory.

mod error;
pub mod layout;
mod leb;
mod module_info;
mod names;
mod rewrite;
mod routines;
mod symbols;

pub use error::ThreadifyError;
pub use layout::ThreadifyOptions;
pub use module_info::THREADLINK_MODULE;
pub use rewrite::{DESTROY_EXPORT, MEMORY_IMPORT, RESERVED_PAGE_EXPORT};
pub use symbols::{FREE_EXPORT, MALLOC_EXPORT, THREAD_START_EXPORT};

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::layout::reserve_page;
use crate::module_info::ModuleInfo;
use crate::rewrite::Plan;
use crate::routines::Routines;
use crate::symbols::LinkerSymbols;

/// Threadifies `wasm` with default options (1 MiB stacks for threads after the first).
pub fn threadify(wasm: &[u8]) -> Result<Vec<u8>, ThreadifyError> {
    threadify_with(wasm, &ThreadifyOptions::default())
}

/// Threadifies `wasm` with explicit options.
pub fn threadify_with(wasm: &[u8], options: &ThreadifyOptions) -> Result<Vec<u8>, ThreadifyError> {
    options.validate()?;
    Validator::new_with_features(features()).validate_all(wasm)?;
    let info = ModuleInfo::parse(wasm)?;
    if !info.imports_threadlink {
        return Err(ThreadifyError::NotThreadlink);
    }
    if info.exported_function(DESTROY_EXPORT).is_some() {
        return Err(ThreadifyError::AlreadyThreadified);
    }
    let memory = info.memory.as_ref().ok_or(ThreadifyError::NoMemory)?;
    if !memory.ty.shared {
        return Err(ThreadifyError::MemoryNotShared);
    }
    let (memory, page) = reserve_page(&memory.ty)?;
    let syms = LinkerSymbols::resolve(&info)?;

    let funcs = info.func_count();
    let globals = info.globals.len() as u32;
    let plan = Plan {
        info: &info,
        routines: Routines {
            syms,
            page,
            stack_size: options.stack_size,
            original_start: info.start,
            lock: funcs,
            unlock: funcs + 1,
            stack_base: globals,
            tls_block: globals + 1,
        },
        memory,
        unit_type: info.type_count(),
        start: funcs + 2,
        destroy: funcs + 3,
        reserved_global: globals + 2,
    };
    rewrite::emit(wasm, &plan)
}

/// Whether `wasm` already carries the threadify patch (it exports
/// `__wasmgrind_thread_destroy`). False for anything that is not a readable module.
pub fn is_threadified(wasm: &[u8]) -> bool {
    exports_and_imports(wasm).is_some_and(|(exports, _)| exports)
}

/// Whether `wasm` imports anything from module `wasm_threadlink`. False for anything that
/// is not a readable module.
pub fn is_threadlink_module(wasm: &[u8]) -> bool {
    exports_and_imports(wasm).is_some_and(|(_, imports)| imports)
}

/// (exports the destroy routine, imports from `wasm_threadlink`), reading only the import
/// and export sections.
fn exports_and_imports(wasm: &[u8]) -> Option<(bool, bool)> {
    let mut destroy = false;
    let mut threadlink = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                return None;
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    threadlink |= import.ok()?.module == THREADLINK_MODULE;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.ok()?;
                    destroy |= export.name == DESTROY_EXPORT
                        && matches!(export.kind, wasmparser::ExternalKind::Func);
                }
            }
            // Everything after the export section is irrelevant.
            Payload::CodeSectionStart { .. } => break,
            _ => {}
        }
    }
    Some((destroy, threadlink))
}

/// The wasm features threadify accepts (and validates its output against): the default set,
/// which includes threads, bulk memory and mutable globals.
pub fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::THREADS
}
