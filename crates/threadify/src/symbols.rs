//! Finding the linker symbols and exports the patch builds on, with their signatures checked.

use wasmparser::{FuncType, ValType};

use crate::error::ThreadifyError;
use crate::module_info::ModuleInfo;

/// Export that allocates `size` bytes aligned to `align` on the guest's global allocator.
pub const MALLOC_EXPORT: &str = "__wasmgrind_malloc";
/// Export that frees a block obtained from [`MALLOC_EXPORT`] with the same size and alignment.
pub const FREE_EXPORT: &str = "__wasmgrind_free";
/// Export the runtime calls in every new thread's instance.
pub const THREAD_START_EXPORT: &str = "thread_start";

/// Indices of everything the added routines call or touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkerSymbols {
    /// Mutable i32 global `__stack_pointer`.
    pub stack_pointer: u32,
    /// i32 global `__tls_size`.
    pub tls_size: u32,
    /// i32 global `__tls_align`.
    pub tls_align: u32,
    /// Function `__wasm_init_tls(block: i32)`.
    pub init_tls: u32,
    /// Function `__wasmgrind_malloc(size: i32, align: i32) -> i32`.
    pub malloc: u32,
    /// Function `__wasmgrind_free(ptr: i32, size: i32, align: i32)`.
    pub free: u32,
}

impl LinkerSymbols {
    /// Resolves every symbol, preferring the name section, then exports, then (for
    /// `__stack_pointer` only, in modules without any name section) wasm-ld's convention
    /// that it is the first defined mutable i32 global.
    pub fn resolve(info: &ModuleInfo) -> Result<Self, ThreadifyError> {
        let thread_start = info
            .exported_function(THREAD_START_EXPORT)
            .ok_or(ThreadifyError::MissingExport(THREAD_START_EXPORT))?;
        check_sig(
            info,
            THREAD_START_EXPORT,
            thread_start,
            &[ValType::I32],
            &[],
        )?;
        let malloc = info
            .exported_function(MALLOC_EXPORT)
            .ok_or(ThreadifyError::MissingExport(MALLOC_EXPORT))?;
        check_sig(
            info,
            MALLOC_EXPORT,
            malloc,
            &[ValType::I32, ValType::I32],
            &[ValType::I32],
        )?;
        let free = info
            .exported_function(FREE_EXPORT)
            .ok_or(ThreadifyError::MissingExport(FREE_EXPORT))?;
        check_sig(
            info,
            FREE_EXPORT,
            free,
            &[ValType::I32, ValType::I32, ValType::I32],
            &[],
        )?;

        let stack_pointer = global(info, "__stack_pointer")
            .or_else(|| stack_pointer_by_convention(info))
            .ok_or(ThreadifyError::MissingSymbol("__stack_pointer"))?;
        check_global(info, "__stack_pointer", stack_pointer, true)?;
        let tls_size =
            global(info, "__tls_size").ok_or(ThreadifyError::MissingSymbol("__tls_size"))?;
        check_global(info, "__tls_size", tls_size, false)?;
        let tls_align =
            global(info, "__tls_align").ok_or(ThreadifyError::MissingSymbol("__tls_align"))?;
        check_global(info, "__tls_align", tls_align, false)?;
        let init_tls = function(info, "__wasm_init_tls")
            .ok_or(ThreadifyError::MissingSymbol("__wasm_init_tls"))?;
        check_sig(info, "__wasm_init_tls", init_tls, &[ValType::I32], &[])?;

        Ok(LinkerSymbols {
            stack_pointer,
            tls_size,
            tls_align,
            init_tls,
            malloc,
            free,
        })
    }
}

/// A global by name-section name, else by export name; only indices in range count.
fn global(info: &ModuleInfo, name: &str) -> Option<u32> {
    info.global_names
        .get(name)
        .copied()
        .or_else(|| info.exported_global(name))
        .filter(|&i| (i as usize) < info.globals.len())
}

/// A function by name-section name, else by export name; only indices in range count.
fn function(info: &ModuleInfo, name: &str) -> Option<u32> {
    info.function_names
        .get(name)
        .copied()
        .or_else(|| info.exported_function(name))
        .filter(|&i| i < info.func_count())
}

/// wasm-ld defines `__stack_pointer` first; only trusted when there are no names at all.
fn stack_pointer_by_convention(info: &ModuleInfo) -> Option<u32> {
    if info.has_name_section {
        return None;
    }
    let first_defined = info.globals.len() - defined_globals(info);
    let ty = info.globals.get(first_defined)?;
    (ty.mutable && ty.content_type == ValType::I32).then_some(first_defined as u32)
}

/// Number of globals defined (not imported) by the module.
fn defined_globals(info: &ModuleInfo) -> usize {
    info.globals.len() - info.imported_globals as usize
}

fn check_global(
    info: &ModuleInfo,
    name: &'static str,
    index: u32,
    mutable: bool,
) -> Result<(), ThreadifyError> {
    let ty = &info.globals[index as usize];
    if ty.content_type != ValType::I32 || (mutable && !ty.mutable) || ty.shared {
        return Err(ThreadifyError::BadGlobal {
            name,
            expected: if mutable {
                "a mutable, unshared i32"
            } else {
                "an unshared i32"
            },
        });
    }
    Ok(())
}

fn check_sig(
    info: &ModuleInfo,
    name: &'static str,
    index: u32,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), ThreadifyError> {
    let expected = FuncType::new(params.iter().copied(), results.iter().copied());
    match info.func_sig(index) {
        Some(found) if *found == expected => Ok(()),
        found => Err(ThreadifyError::BadSignature {
            name,
            expected: expected.to_string(),
            found: found.map_or_else(|| "a non-function type".to_string(), ToString::to_string),
        }),
    }
}
