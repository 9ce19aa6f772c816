//! A first read-only pass over the module: everything threadify needs to know before
//! it writes anything (types, function signatures, memory 0, globals, exports, names).

use std::collections::HashMap;

use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, GlobalType, KnownCustom, MemoryType, Name, Parser,
    Payload, TypeRef,
};

use crate::error::ThreadifyError;

/// The ABI's import module name.
pub const THREADLINK_MODULE: &str = "wasm_threadlink";

/// Where memory 0 comes from.
#[derive(Debug, Clone)]
pub enum MemorySource {
    /// Imported as `module.name`.
    Imported,
    /// Defined by the module's memory section (threadify turns it into an import).
    Defined,
}

/// Memory 0 of the module.
#[derive(Debug, Clone)]
pub struct MemoryInfo {
    /// Its type as declared.
    pub ty: MemoryType,
    /// Imported or defined.
    pub source: MemorySource,
}

/// What the first pass learned about a module.
#[derive(Debug, Default)]
pub struct ModuleInfo {
    /// Function signature of every type index (`None` for non-function types).
    pub types: Vec<Option<FuncType>>,
    /// Type index of every function index (imports first).
    pub func_types: Vec<u32>,
    /// Number of imported functions.
    pub imported_funcs: u32,
    /// Type of every global index (imports first).
    pub globals: Vec<GlobalType>,
    /// Number of imported globals.
    pub imported_globals: u32,
    /// Number of imported memories.
    pub imported_memories: u32,
    /// Number of memories defined in the memory section.
    pub defined_memories: u32,
    /// Memory 0, if there is one.
    pub memory: Option<MemoryInfo>,
    /// Exports by name: (kind, index).
    pub exports: HashMap<String, (ExternalKind, u32)>,
    /// The start function, if any.
    pub start: Option<u32>,
    /// Whether anything is imported from `wasm_threadlink`.
    pub imports_threadlink: bool,
    /// Function names from the name section, name → index (first wins).
    pub function_names: HashMap<String, u32>,
    /// Global names from the name section, name → index (first wins).
    pub global_names: HashMap<String, u32>,
    /// Whether the module has a `name` custom section.
    pub has_name_section: bool,
}

impl ModuleInfo {
    /// Reads `wasm` once, without validating function bodies.
    pub fn parse(wasm: &[u8]) -> Result<Self, ThreadifyError> {
        let mut info = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Module => {
                    return Err(ThreadifyError::NotAModule);
                }
                Payload::TypeSection(reader) => {
                    for group in reader {
                        for sub in group?.into_types() {
                            info.types.push(match sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            });
                        }
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import?;
                        if import.module == THREADLINK_MODULE {
                            info.imports_threadlink = true;
                        }
                        match import.ty {
                            TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                                info.func_types.push(t);
                                info.imported_funcs += 1;
                            }
                            TypeRef::Global(g) => {
                                info.globals.push(g);
                                info.imported_globals += 1;
                            }
                            TypeRef::Memory(m) => {
                                if info.memory.is_none() {
                                    info.memory = Some(MemoryInfo {
                                        ty: m,
                                        source: MemorySource::Imported,
                                    });
                                }
                                info.imported_memories += 1;
                            }
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
                    for mem in reader {
                        let mem = mem?;
                        if info.memory.is_none() {
                            info.memory = Some(MemoryInfo {
                                ty: mem,
                                source: MemorySource::Defined,
                            });
                        }
                        info.defined_memories += 1;
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        info.globals.push(global?.ty);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export?;
                        info.exports
                            .insert(export.name.to_string(), (export.kind, export.index));
                    }
                }
                Payload::StartSection { func, .. } => info.start = Some(func),
                Payload::CustomSection(reader) => {
                    if let KnownCustom::Name(names) = reader.as_known() {
                        info.has_name_section = true;
                        // A malformed name section is not fatal: the module still runs, we
                        // just cannot use its names.
                        for sub in names.into_iter().flatten() {
                            match sub {
                                Name::Function(map) => {
                                    for naming in map.into_iter().flatten() {
                                        info.function_names
                                            .entry(naming.name.to_string())
                                            .or_insert(naming.index);
                                    }
                                }
                                Name::Global(map) => {
                                    for naming in map.into_iter().flatten() {
                                        info.global_names
                                            .entry(naming.name.to_string())
                                            .or_insert(naming.index);
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(info)
    }

    /// The exported function called `name`, if any.
    pub fn exported_function(&self, name: &str) -> Option<u32> {
        match self.exports.get(name) {
            Some((ExternalKind::Func | ExternalKind::FuncExact, index)) => Some(*index),
            _ => None,
        }
    }

    /// The exported global called `name`, if any.
    pub fn exported_global(&self, name: &str) -> Option<u32> {
        match self.exports.get(name) {
            Some((ExternalKind::Global, index)) => Some(*index),
            _ => None,
        }
    }

    /// The signature of function `index`, if it is a function type.
    pub fn func_sig(&self, index: u32) -> Option<&FuncType> {
        let ty = *self.func_types.get(index as usize)?;
        self.types.get(ty as usize)?.as_ref()
    }

    /// Number of functions (imported and defined).
    pub fn func_count(&self) -> u32 {
        self.func_types.len() as u32
    }

    /// Number of types in the type index space.
    pub fn type_count(&self) -> u32 {
        self.types.len() as u32
    }
}
