//! Loading a module as the user gave it, recognizing its thread ABI and checking that
//! ABI's requirements before anything runs.

use std::path::Path;

use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

use crate::RuntimeError;

/// How the module makes threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// Imports `wasi::thread-spawn` and exports `wasi_thread_start` (wasm32-wasip1-threads).
    WasiThreads,
    /// Imports from `wasm_threadlink` (the project's own ABI).
    Threadlink,
    /// No thread ABI: runs as a single-threaded (WASI) program.
    Plain,
}

/// A module ready to run: the bytes the user gave (text already parsed), the bytes to
/// execute (threadified for threadlink modules), and its ABI.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    /// The module as the user gave it: every reported location refers to these bytes.
    pub original: Vec<u8>,
    /// What runs: `original`, threadified when it is a threadlink module.
    pub prepared: Vec<u8>,
    pub abi: Abi,
}

/// The memory import every thread shares.
#[derive(Debug, Clone)]
pub(crate) struct MemoryImport {
    pub module: String,
    pub name: String,
    pub shared: bool,
}

/// What the runtime needs to know of a module's imports and exports.
#[derive(Debug, Default)]
pub(crate) struct Shape {
    pub memory_import: Option<MemoryImport>,
    pub defines_memory: bool,
    pub defined_memory_shared: bool,
    pub imports_thread_spawn: bool,
    pub imports_threadlink: bool,
    pub func_exports: Vec<String>,
}

impl LoadedModule {
    /// Reads `path` (binary or text format).
    pub fn from_file(path: &Path) -> Result<Self, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, bytes)
    }

    /// Accepts wasm binary or text; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Self, RuntimeError> {
        let original = if bytes.starts_with(b"\0asm") {
            bytes
        } else {
            let text = std::str::from_utf8(&bytes).map_err(|_| RuntimeError::NotWasm {
                path: path.to_path_buf(),
                reason: "no wasm magic number and not UTF-8 text".into(),
            })?;
            wat::parse_str(text).map_err(|e| RuntimeError::NotWasm {
                path: path.to_path_buf(),
                reason: e.to_string().lines().next().unwrap_or_default().to_string(),
            })?
        };
        let shape = Shape::of(&original)?;
        let abi = shape.abi();
        shape.check(abi)?;
        let prepared = if abi == Abi::Threadlink && !wasmgrind_threadify::is_threadified(&original)
        {
            wasmgrind_threadify::threadify(&original)
                .map_err(|e| RuntimeError::Threadlink(e.to_string()))?
        } else {
            original.clone()
        };
        Ok(LoadedModule {
            original,
            prepared,
            abi,
        })
    }
}

impl Shape {
    /// Reads the import and export sections (a parse error is an invalid module).
    pub(crate) fn of(bytes: &[u8]) -> Result<Shape, RuntimeError> {
        let mut shape = Shape::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| RuntimeError::Invalid(e.to_string()))? {
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                        match import.ty {
                            TypeRef::Memory(ty) => {
                                shape.memory_import = Some(MemoryImport {
                                    module: import.module.to_string(),
                                    name: import.name.to_string(),
                                    shared: ty.shared,
                                })
                            }
                            TypeRef::Func(_)
                                if import.module == "wasi" && import.name == "thread-spawn" =>
                            {
                                shape.imports_thread_spawn = true
                            }
                            TypeRef::Func(_) if import.module == "wasm_threadlink" => {
                                shape.imports_threadlink = true
                            }
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        let memory = memory.map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                        shape.defines_memory = true;
                        shape.defined_memory_shared |= memory.shared;
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        let export = export.map_err(|e| RuntimeError::Invalid(e.to_string()))?;
                        if export.kind == ExternalKind::Func {
                            shape.func_exports.push(export.name.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(shape)
    }

    pub(crate) fn exports(&self, name: &str) -> bool {
        self.func_exports.iter().any(|e| e == name)
    }

    fn abi(&self) -> Abi {
        if self.imports_threadlink {
            Abi::Threadlink
        } else if self.imports_thread_spawn || self.exports("wasi_thread_start") {
            Abi::WasiThreads
        } else {
            Abi::Plain
        }
    }

    /// The ABI's structural requirements, each failure named for the user.
    fn check(&self, abi: Abi) -> Result<(), RuntimeError> {
        match abi {
            Abi::WasiThreads => {
                let Some(memory) = &self.memory_import else {
                    return Err(RuntimeError::WasiThreads(if self.defines_memory {
                        "its memory is defined in the module, not imported; every thread needs the same memory (build for wasm32-wasip1-threads, which imports it)".into()
                    } else {
                        "it imports no memory".into()
                    }));
                };
                if !memory.shared {
                    return Err(RuntimeError::WasiThreads(format!(
                        "its memory import `{}::{}` is not shared; threads need a shared memory (build with +atomics)",
                        memory.module, memory.name
                    )));
                }
                if self.imports_thread_spawn && !self.exports("wasi_thread_start") {
                    return Err(RuntimeError::WasiThreads(
                        "it imports `wasi::thread-spawn` but does not export `wasi_thread_start`"
                            .into(),
                    ));
                }
            }
            Abi::Threadlink => {
                if !self.exports("thread_start") {
                    return Err(RuntimeError::Threadlink(
                        "it does not export `thread_start`".into(),
                    ));
                }
                for export in ["__wasmgrind_malloc", "__wasmgrind_free"] {
                    if !self.exports(export) {
                        return Err(RuntimeError::Threadlink(format!(
                            "it does not export the allocator function `{export}`"
                        )));
                    }
                }
                let shared = self
                    .memory_import
                    .as_ref()
                    .map_or(self.defined_memory_shared, |m| m.shared);
                if !shared {
                    return Err(RuntimeError::Threadlink(
                        "its memory is not shared (build with +atomics,+bulk-memory,+mutable-globals)".into(),
                    ));
                }
            }
            Abi::Plain => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(wat: &str) -> Result<LoadedModule, RuntimeError> {
        LoadedModule::from_bytes(Path::new("test.wat"), wat.as_bytes().to_vec())
    }

    #[test]
    fn garbage_is_not_wasm() {
        let err = LoadedModule::from_bytes(Path::new("x.bin"), vec![0xff, 0xfe, 0x00]).unwrap_err();
        assert!(matches!(err, RuntimeError::NotWasm { .. }), "{err}");
        let err = load("(module (func $f (unknown_instr)))").unwrap_err();
        assert!(matches!(err, RuntimeError::NotWasm { .. }), "{err}");
    }

    #[test]
    fn truncated_binary_is_invalid() {
        let bytes = wat::parse_str(r#"(module (func (export "_start") nop))"#).unwrap();
        let err = LoadedModule::from_bytes(Path::new("t.wasm"), bytes[..bytes.len() - 3].to_vec())
            .unwrap_err();
        assert!(matches!(err, RuntimeError::Invalid(_)), "{err}");
    }

    #[test]
    fn recognizes_abis() {
        let plain = load(r#"(module (func (export "_start")))"#).unwrap();
        assert_eq!(plain.abi, Abi::Plain);
        let wasi = load(
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (func (export "wasi_thread_start") (param i32 i32)))"#,
        )
        .unwrap();
        assert_eq!(wasi.abi, Abi::WasiThreads);
    }

    #[test]
    fn wasi_threads_memory_must_be_imported_and_shared() {
        let not_shared = load(
            r#"(module (import "env" "memory" (memory 1 1))
                 (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (func (export "wasi_thread_start") (param i32 i32)))"#,
        )
        .unwrap_err();
        assert!(
            not_shared.to_string().contains("not shared"),
            "{not_shared}"
        );
        let defined = load(
            r#"(module (import "wasi" "thread-spawn" (func (param i32) (result i32)))
                 (memory 1 1 shared)
                 (func (export "wasi_thread_start") (param i32 i32)))"#,
        )
        .unwrap_err();
        assert!(defined.to_string().contains("not imported"), "{defined}");
        let no_start = load(
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasi" "thread-spawn" (func (param i32) (result i32))))"#,
        )
        .unwrap_err();
        assert!(
            no_start.to_string().contains("wasi_thread_start"),
            "{no_start}"
        );
    }

    #[test]
    fn threadlink_requirements_are_named() {
        let missing_start = load(
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasm_threadlink" "thread_join" (func (param i32) (result i32))))"#,
        )
        .unwrap_err();
        assert!(
            missing_start.to_string().contains("thread_start"),
            "{missing_start}"
        );
        let missing_malloc = load(
            r#"(module (import "env" "memory" (memory 1 1 shared))
                 (import "wasm_threadlink" "thread_join" (func (param i32) (result i32)))
                 (func (export "thread_start") (param i32)))"#,
        )
        .unwrap_err();
        assert!(
            missing_malloc.to_string().contains("__wasmgrind_malloc"),
            "{missing_malloc}"
        );
    }
}
