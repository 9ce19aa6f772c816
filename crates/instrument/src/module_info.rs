//! A first pass over the input collecting the index spaces the rewrite needs to know up front.

use std::collections::HashSet;
use wasmparser::{CompositeInnerType, MemoryType, Parser, Payload, TypeRef};

use crate::{InstrumentError, IMPORT_MODULE};

/// Facts about the input module gathered before rewriting it.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// Number of entries in the type index space.
    pub num_types: u32,
    /// Parameter count of each type index that is a function type.
    pub type_params: Vec<Option<u32>>,
    /// Type index of every function (imports first).
    pub func_types: Vec<u32>,
    /// Number of imported functions.
    pub imported_funcs: u32,
    /// Every memory (imports first).
    pub memories: Vec<MemoryType>,
    /// Number of globals (imports first).
    pub num_globals: u32,
    /// Every export name.
    pub export_names: HashSet<String>,
    /// Input function indices of imports from [`IMPORT_MODULE`]; calls to them are not logged.
    pub own_imports: HashSet<u32>,
}

impl ModuleInfo {
    /// Scans `wasm` (a core module) without validating it.
    pub fn scan(wasm: &[u8]) -> Result<Self, InstrumentError> {
        let mut info = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return Err(InstrumentError::Unsupported(
                        "components (only core wasm modules can be instrumented)".into(),
                    ));
                }
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.types() {
                            info.num_types += 1;
                            info.type_params.push(match &sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(f.params().len() as u32),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        match import.ty {
                            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                                if import.module == IMPORT_MODULE {
                                    info.own_imports.insert(info.func_types.len() as u32);
                                }
                                info.func_types.push(ty);
                                info.imported_funcs += 1;
                            }
                            TypeRef::Memory(m) => info.memories.push(m),
                            TypeRef::Global(_) => info.num_globals += 1,
                            TypeRef::Table(_) | TypeRef::Tag(_) => {}
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        info.func_types.push(ty?);
                    }
                }
                Payload::MemorySection(reader) => {
                    for m in reader {
                        info.memories.push(m?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for g in reader {
                        g?;
                        info.num_globals += 1;
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader {
                        info.export_names.insert(e?.name.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// Number of parameters of function `func` (input index).
    pub fn params_of(&self, func: u32) -> Result<u32, InstrumentError> {
        self.func_types
            .get(func as usize)
            .and_then(|&ty| self.type_params.get(ty as usize).copied().flatten())
            .ok_or_else(|| {
                InstrumentError::Unsupported(format!(
                    "function {func} has no function type (malformed module)"
                ))
            })
    }

    /// Chooses the memory whose accesses are instrumented, if any.
    ///
    /// That is the shared memory; without one, memory 0 when `all_memories` is set.
    pub fn target_memory(&self, all_memories: bool) -> Result<Option<u32>, InstrumentError> {
        let shared: Vec<u32> = (0..self.memories.len() as u32)
            .filter(|&i| self.memories[i as usize].shared)
            .collect();
        let target = match shared.as_slice() {
            [] if all_memories && !self.memories.is_empty() => Some(0),
            [] => None,
            [one] => Some(*one),
            _ => {
                return Err(InstrumentError::Unsupported(format!(
                    "{} shared memories (records carry no memory index; at most one is supported)",
                    shared.len()
                )))
            }
        };
        if let Some(t) = target {
            if self.memories[t as usize].memory64 {
                return Err(InstrumentError::Unsupported(format!(
                    "memory64: memory {t} uses 64-bit addresses"
                )));
            }
        }
        Ok(target)
    }
}
