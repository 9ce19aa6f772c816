//! Writing the threadified module: one pass over the input's sections, copying untouched
//! sections byte-for-byte and rebuilding the few that gain entries.

use wasm_encoder::reencode::{utils, Reencode, RoundtripReencoder};
use wasm_encoder::{
    CodeSection, ConstExpr, EntityType, ExportKind, ExportSection, FunctionSection, GlobalSection,
    GlobalType, ImportSection, MemorySection, Module, RawSection, StartSection, TypeSection,
    ValType,
};
use wasmparser::{CustomSectionReader, KnownCustom, Parser, Payload, TypeRef};

use crate::error::ThreadifyError;
use crate::leb;
use crate::module_info::{MemorySource, ModuleInfo};
use crate::names::{extend_name_section, AddedNames};
use crate::routines::Routines;

/// Export name of the destroy routine; also how [`crate::is_threadified`] recognizes output.
pub const DESTROY_EXPORT: &str = "__wasmgrind_thread_destroy";
/// Export name of the immutable global holding the reserved page's address.
pub const RESERVED_PAGE_EXPORT: &str = "__wasmgrind_reserved_page";
/// Module and field of the memory import a defined memory is turned into.
pub const MEMORY_IMPORT: (&str, &str) = ("env", "memory");

/// Everything decided before writing.
pub struct Plan<'a> {
    /// The first pass's findings.
    pub info: &'a ModuleInfo,
    /// Code generator for the new functions (carries their indices).
    pub routines: Routines,
    /// Memory 0's type with the reserved page added.
    pub memory: wasmparser::MemoryType,
    /// Type index of the appended `() -> ()` type.
    pub unit_type: u32,
    /// Function index of the new start routine.
    pub start: u32,
    /// Function index of `__wasmgrind_thread_destroy`.
    pub destroy: u32,
    /// Global index of the reserved page address.
    pub reserved_global: u32,
}

impl Plan<'_> {
    /// The new functions in index order: lock, unlock, start, destroy.
    fn new_function_count(&self) -> u32 {
        4
    }

    fn added_names(&self) -> AddedNames {
        let r = &self.routines;
        AddedNames {
            functions: vec![
                (r.lock, "__wasmgrind_lock"),
                (r.unlock, "__wasmgrind_unlock"),
                (self.start, "__wasmgrind_start"),
                (self.destroy, DESTROY_EXPORT),
            ],
            globals: vec![
                (r.stack_base, "__wasmgrind_stack_base"),
                (r.tls_block, "__wasmgrind_tls_block"),
                (self.reserved_global, RESERVED_PAGE_EXPORT),
            ],
        }
    }
}

/// Sections threadify writes even when the input lacks them, by their position in the
/// binary's required section order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Managed {
    Type,
    Import,
    Function,
    Global,
    Export,
    Start,
    Code,
}

const MANAGED: [(u8, Managed); 7] = [
    (1, Managed::Type),
    (2, Managed::Import),
    (3, Managed::Function),
    (7, Managed::Global),
    (8, Managed::Export),
    (9, Managed::Start),
    (12, Managed::Code),
];

/// Position of a non-custom section id in the binary's required order.
fn rank(id: u8) -> u8 {
    match id {
        1..=5 => id,
        13 => 6,         // tag
        6..=9 => id + 1, // global, export, start, element
        12 => 11,        // data count
        10 => 12,        // code
        11 => 13,        // data
        _ => u8::MAX,
    }
}

/// Output module under construction.
struct Emitter<'a> {
    wasm: &'a [u8],
    plan: &'a Plan<'a>,
    module: Module,
    done: Vec<Managed>,
    reencoder: RoundtripReencoder,
}

/// Writes the threadified module.
pub fn emit(wasm: &[u8], plan: &Plan<'_>) -> Result<Vec<u8>, ThreadifyError> {
    let mut e = Emitter {
        wasm,
        plan,
        module: Module::new(),
        done: Vec::new(),
        reencoder: RoundtripReencoder,
    };
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload?;
        match payload {
            Payload::Version { .. } | Payload::End(_) | Payload::CodeSectionEntry(_) => {}
            Payload::TypeSection(r) => {
                e.flush_before(rank(1))?;
                e.types(Some(r))?;
            }
            Payload::ImportSection(r) => {
                e.flush_before(rank(2))?;
                e.imports(Some(r))?;
            }
            Payload::FunctionSection(r) => {
                e.flush_before(rank(3))?;
                e.functions(Some(r))?;
            }
            Payload::MemorySection(r) => {
                e.flush_before(rank(5))?;
                e.memories(r)?;
            }
            Payload::GlobalSection(r) => {
                e.flush_before(rank(6))?;
                e.globals(Some(r))?;
            }
            Payload::ExportSection(r) => {
                e.flush_before(rank(7))?;
                e.exports(Some(r))?;
            }
            Payload::StartSection { .. } => {
                e.flush_before(rank(8))?;
                e.start();
            }
            Payload::CodeSectionStart { range, .. } => {
                e.flush_before(rank(10))?;
                e.code(Some(&wasm[range]))?;
            }
            Payload::CustomSection(c) if c.name() == "name" => {
                e.names(&c)?;
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    if id != 0 {
                        e.flush_before(rank(id))?;
                    }
                    e.module.section(&RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }
    e.flush_before(u8::MAX)?;
    Ok(e.module.finish())
}

impl Emitter<'_> {
    /// Emits every managed section ranked before `rank` that has not been written yet.
    fn flush_before(&mut self, rank: u8) -> Result<(), ThreadifyError> {
        for (managed_rank, managed) in MANAGED {
            if managed_rank < rank && !self.done.contains(&managed) {
                match managed {
                    Managed::Type => self.types(None)?,
                    Managed::Import => self.imports(None)?,
                    Managed::Function => self.functions(None)?,
                    Managed::Global => self.globals(None)?,
                    Managed::Export => self.exports(None)?,
                    Managed::Start => self.start(),
                    Managed::Code => self.code(None)?,
                }
            }
        }
        Ok(())
    }

    fn types(
        &mut self,
        reader: Option<wasmparser::TypeSectionReader<'_>>,
    ) -> Result<(), ThreadifyError> {
        let mut types = TypeSection::new();
        if let Some(reader) = reader {
            utils::parse_type_section(&mut self.reencoder, &mut types, reader)?;
        }
        types.ty().function([], []);
        self.module.section(&types);
        self.done.push(Managed::Type);
        Ok(())
    }

    /// Copies the imports, giving memory 0 its reserved page; a defined memory 0 becomes
    /// the import `env.memory` (appended: memory imports do not move function indices).
    fn imports(
        &mut self,
        reader: Option<wasmparser::ImportSectionReader<'_>>,
    ) -> Result<(), ThreadifyError> {
        let mut imports = ImportSection::new();
        let new_memory = self.reencoder.memory_type(self.plan.memory)?;
        let mut memory_seen = false;
        if let Some(reader) = reader {
            for import in reader.into_imports() {
                let import = import?;
                let ty = match import.ty {
                    TypeRef::Memory(_) if !memory_seen => {
                        memory_seen = true;
                        EntityType::Memory(new_memory)
                    }
                    other => self.reencoder.entity_type(other)?,
                };
                imports.import(import.module, import.name, ty);
            }
        }
        if matches!(
            self.plan.info.memory.as_ref().map(|m| &m.source),
            Some(MemorySource::Defined)
        ) {
            imports.import(MEMORY_IMPORT.0, MEMORY_IMPORT.1, new_memory);
        }
        self.module.section(&imports);
        self.done.push(Managed::Import);
        Ok(())
    }

    fn functions(
        &mut self,
        reader: Option<wasmparser::FunctionSectionReader<'_>>,
    ) -> Result<(), ThreadifyError> {
        let mut functions = FunctionSection::new();
        if let Some(reader) = reader {
            utils::parse_function_section(&mut self.reencoder, &mut functions, reader)?;
        }
        for _ in 0..self.plan.new_function_count() {
            functions.function(self.plan.unit_type);
        }
        self.module.section(&functions);
        self.done.push(Managed::Function);
        Ok(())
    }

    /// Drops a defined memory 0 (now imported); an imported memory 0 leaves the section
    /// untouched.
    fn memories(
        &mut self,
        reader: wasmparser::MemorySectionReader<'_>,
    ) -> Result<(), ThreadifyError> {
        let defined_first = matches!(
            self.plan.info.memory.as_ref().map(|m| &m.source),
            Some(MemorySource::Defined)
        );
        if !defined_first {
            self.module.section(&RawSection {
                id: 5,
                data: &self.wasm[reader.range()],
            });
            return Ok(());
        }
        let mut memories = MemorySection::new();
        for memory in reader.into_iter().skip(1) {
            memories.memory(self.reencoder.memory_type(memory?)?);
        }
        if !memories.is_empty() {
            self.module.section(&memories);
        }
        Ok(())
    }

    fn globals(
        &mut self,
        reader: Option<wasmparser::GlobalSectionReader<'_>>,
    ) -> Result<(), ThreadifyError> {
        let mut globals = GlobalSection::new();
        if let Some(reader) = reader {
            utils::parse_global_section(&mut self.reencoder, &mut globals, reader)?;
        }
        let per_instance = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(per_instance, &ConstExpr::i32_const(0)); // stack_base
        globals.global(per_instance, &ConstExpr::i32_const(0)); // tls_block
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: false,
                shared: false,
            },
            &ConstExpr::i32_const(self.plan.routines.page.base as i32),
        );
        self.module.section(&globals);
        self.done.push(Managed::Global);
        Ok(())
    }

    fn exports(
        &mut self,
        reader: Option<wasmparser::ExportSectionReader<'_>>,
    ) -> Result<(), ThreadifyError> {
        let mut exports = ExportSection::new();
        if let Some(reader) = reader {
            utils::parse_export_section(&mut self.reencoder, &mut exports, reader)?;
        }
        exports.export(DESTROY_EXPORT, ExportKind::Func, self.plan.destroy);
        exports.export(
            RESERVED_PAGE_EXPORT,
            ExportKind::Global,
            self.plan.reserved_global,
        );
        self.module.section(&exports);
        self.done.push(Managed::Export);
        Ok(())
    }

    fn start(&mut self) {
        self.module.section(&StartSection {
            function_index: self.plan.start,
        });
        self.done.push(Managed::Start);
    }

    /// Copies the original code section's bodies verbatim (count prefix kept at its
    /// original width whenever the new count fits) and appends the new functions.
    fn code(&mut self, original: Option<&[u8]>) -> Result<(), ThreadifyError> {
        let r = &self.plan.routines;
        let new_bodies = [r.lock_fn(), r.unlock_fn(), r.start_fn(), r.destroy_fn()];
        let mut data = Vec::new();
        match original {
            Some(section) => {
                let (count, width) = leb::read_u32(section).ok_or_else(|| {
                    ThreadifyError::Reencode("malformed code section count".into())
                })?;
                let new_count = count + new_bodies.len() as u32;
                if !leb::write_u32_padded(new_count, width, &mut data) {
                    leb::write_u32(new_count, &mut data);
                }
                data.extend_from_slice(&section[width..]);
            }
            None => {
                let mut code = CodeSection::new();
                for body in &new_bodies {
                    code.function(body);
                }
                self.module.section(&code);
                self.done.push(Managed::Code);
                return Ok(());
            }
        }
        for body in &new_bodies {
            wasm_encoder::Encode::encode(body, &mut data);
        }
        self.module.section(&RawSection {
            id: 10,
            data: &data,
        });
        self.done.push(Managed::Code);
        Ok(())
    }

    /// Rewrites the name section with the new names; a malformed one is copied as is.
    fn names(&mut self, section: &CustomSectionReader<'_>) -> Result<(), ThreadifyError> {
        let added = self.plan.added_names();
        if let KnownCustom::Name(reader) = section.as_known() {
            if let Ok(names) = extend_name_section(reader, &added) {
                self.module.section(&names);
                return Ok(());
            }
        }
        self.module.section(&RawSection {
            id: 0,
            data: &self.wasm[section.range()],
        });
        Ok(())
    }
}
