//! The module-level driver: copies every section of the input, adding the hook imports, the
//! event buffer (memory, cursor global, exports), the helper function if any, and rewritten
//! bodies; then builds the offset map from the finished output.

use std::collections::HashSet;

use wasm_encoder::reencode::{utils, Reencode};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, EntityType, ExportKind, ExportSection, Function,
    FunctionSection, GlobalSection, GlobalType, ImportSection, MemorySection, MemoryType, Module,
    NameMap, NameSection, SectionId, TypeSection, ValType,
};
use wasmparser::{BinaryReader, CodeSectionReader, KnownCustom, Name, Parser, Payload};

use crate::body::{rewrite_body, Context};
use crate::filter::FilterLayout;
use crate::module_info::ModuleInfo;
use crate::offset_map::{BodyMap, OffsetMap};
use crate::record::{Buffer, RecordMode};
use crate::remap::Remap;
use crate::{
    FuncMap, Hook, InstrumentError, Instrumented, Options, Site, CURSOR_EXPORT, EVENTS_EXPORT,
    GENERATION_EXPORT, IMPORT_MODULE,
};

/// Custom sections describing code offsets of the input, which would be wrong in the output.
fn is_offset_dependent_custom(name: &str) -> bool {
    name.starts_with(".debug_")
        || name.starts_with("reloc.")
        || name.starts_with("metadata.code.")
        || matches!(name, "linking" | "sourceMappingURL" | "external_debug_info")
}

/// Position of a section in the module's mandatory order (`SectionId` values are not ordered).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

/// Sections the output must contain even when the input has none, in order.
const ADDED: [SectionId; 7] = [
    SectionId::Type,
    SectionId::Import,
    SectionId::Function,
    SectionId::Memory,
    SectionId::Global,
    SectionId::Export,
    SectionId::Code,
];

/// Instruments `wasm`; see [`crate::instrument`].
pub(crate) fn rewrite(
    wasm: &[u8],
    opts: &Options,
    mode: RecordMode,
) -> Result<Instrumented, InstrumentError> {
    let capacity = opts.validated_capacity()?;
    let info = ModuleInfo::scan(wasm)?;
    let target = info.target_memory(opts.all_memories)?;
    for name in [EVENTS_EXPORT, CURSOR_EXPORT, GENERATION_EXPORT] {
        if info.export_names.contains(name) {
            return Err(InstrumentError::ExportClash(name.to_string()));
        }
    }
    let input_funcs = info.func_types.len() as u32;
    let func_map = FuncMap {
        input_funcs,
        helper_funcs: u32::from(mode == RecordMode::Helper),
    };
    let buffer = Buffer {
        memory: info.memories.len() as u32,
        cursor: info.num_globals,
        capacity,
        mode,
        helper: Hook::COUNT + input_funcs,
        filter: opts
            .filter_repeats
            .then(|| FilterLayout::new(info.num_globals + 1, capacity, opts.filter_slots)),
    };
    let mut driver = Driver {
        wasm,
        skip: opts.skip_functions.iter().copied().collect(),
        ctx: Context {
            info: &info,
            target,
            buffer,
            call_stacks: opts.call_stacks,
            scope: opts.scope,
            plain_policy: &opts.plain_policy,
        },
        module: Module::new(),
        remap: Remap,
        emitted: HashSet::new(),
        last_rank: 0,
        sites: Vec::new(),
        bodies: Vec::new(),
    };
    driver.run()?;
    let Driver {
        module,
        sites,
        bodies,
        ..
    } = driver;
    let out = module.finish();
    let offset_map = build_offset_map(&out, bodies)?;
    Ok(Instrumented {
        wasm: out,
        sites,
        func_map,
        offset_map,
        buffer_capacity: capacity,
        events_memory: buffer.memory,
        cursor_global: buffer.cursor,
        filter: buffer.filter,
        instrumented_memory: target,
    })
}

/// One rewritten input body, before its final position in the output is known.
struct PendingBody {
    input_func: u32,
    input: std::ops::Range<u32>,
    entries: Vec<(u32, u32)>,
}

struct Driver<'a> {
    wasm: &'a [u8],
    skip: HashSet<u32>,
    ctx: Context<'a>,
    module: Module,
    remap: Remap,
    /// Sections of [`ADDED`] already written.
    emitted: HashSet<u8>,
    last_rank: u8,
    sites: Vec<Site>,
    bodies: Vec<PendingBody>,
}

impl Driver<'_> {
    fn helper(&self) -> bool {
        self.ctx.buffer.mode == RecordMode::Helper
    }

    /// Type index of hook `h` (hook types are appended after the input's types).
    fn hook_type(&self, h: Hook) -> u32 {
        self.ctx.info.num_types + h as u32
    }

    fn helper_type(&self) -> u32 {
        self.ctx.info.num_types + Hook::COUNT
    }

    fn run(&mut self) -> Result<(), InstrumentError> {
        let reenc = |what| move |e| InstrumentError::reencode(what, e);
        for payload in Parser::new(0).parse_all(self.wasm) {
            let payload = payload?;
            if let Some((id, _)) = payload.as_section() {
                if let Some(id) = section_id(id) {
                    if id != SectionId::Custom {
                        self.before_section(id)?;
                    }
                }
            }
            match payload {
                Payload::Version { .. } => {}
                Payload::TypeSection(reader) => {
                    let mut s = TypeSection::new();
                    self.remap
                        .parse_type_section(&mut s, reader)
                        .map_err(reenc("type section"))?;
                    self.finish_types(s);
                }
                Payload::ImportSection(reader) => {
                    let mut s = self.new_imports();
                    self.remap
                        .parse_import_section(&mut s, reader)
                        .map_err(reenc("import section"))?;
                    self.module.section(&s);
                }
                Payload::FunctionSection(reader) => {
                    let mut s = FunctionSection::new();
                    self.remap
                        .parse_function_section(&mut s, reader)
                        .map_err(reenc("function section"))?;
                    self.finish_functions(s);
                }
                Payload::TableSection(reader) => {
                    let mut s = wasm_encoder::TableSection::new();
                    self.remap
                        .parse_table_section(&mut s, reader)
                        .map_err(reenc("table section"))?;
                    self.module.section(&s);
                }
                Payload::MemorySection(reader) => {
                    let mut s = MemorySection::new();
                    self.remap
                        .parse_memory_section(&mut s, reader)
                        .map_err(reenc("memory section"))?;
                    self.finish_memories(s);
                }
                Payload::TagSection(reader) => {
                    let mut s = wasm_encoder::TagSection::new();
                    self.remap
                        .parse_tag_section(&mut s, reader)
                        .map_err(reenc("tag section"))?;
                    self.module.section(&s);
                }
                Payload::GlobalSection(reader) => {
                    let mut s = GlobalSection::new();
                    self.remap
                        .parse_global_section(&mut s, reader)
                        .map_err(reenc("global section"))?;
                    self.finish_globals(s);
                }
                Payload::ExportSection(reader) => {
                    let mut s = ExportSection::new();
                    self.remap
                        .parse_export_section(&mut s, reader)
                        .map_err(reenc("export section"))?;
                    self.finish_exports(s);
                }
                Payload::StartSection { func, .. } => {
                    let function_index = self
                        .remap
                        .start_section(func)
                        .map_err(reenc("start section"))?;
                    self.module
                        .section(&wasm_encoder::StartSection { function_index });
                }
                Payload::ElementSection(reader) => {
                    let mut s = wasm_encoder::ElementSection::new();
                    self.remap
                        .parse_element_section(&mut s, reader)
                        .map_err(reenc("element section"))?;
                    self.module.section(&s);
                }
                Payload::DataCountSection { count, .. } => {
                    self.module
                        .section(&wasm_encoder::DataCountSection { count });
                }
                Payload::DataSection(reader) => {
                    let mut s = wasm_encoder::DataSection::new();
                    self.remap
                        .parse_data_section(&mut s, reader)
                        .map_err(reenc("data section"))?;
                    self.module.section(&s);
                }
                Payload::CodeSectionStart { range, .. } => {
                    let data = self.wasm.get(range.clone()).ok_or_else(|| {
                        InstrumentError::Unsupported("truncated code section".into())
                    })?;
                    let reader = CodeSectionReader::new(BinaryReader::new(data, range.start))?;
                    self.code(reader)?;
                }
                Payload::CodeSectionEntry(_) => {}
                Payload::CustomSection(reader) => self.custom(reader)?,
                Payload::End(_) => self.before_section_rank(u8::MAX)?,
                other => {
                    return Err(InstrumentError::Unsupported(format!(
                        "section {:?} (only core wasm modules can be instrumented)",
                        other.as_section().map(|(id, _)| id)
                    )))
                }
            }
        }
        Ok(())
    }

    /// Writes the added sections that must precede `id` and that the input lacks.
    fn before_section(&mut self, id: SectionId) -> Result<(), InstrumentError> {
        self.before_section_rank(rank(id))?;
        self.emitted.insert(rank(id));
        self.last_rank = rank(id);
        Ok(())
    }

    fn before_section_rank(&mut self, r: u8) -> Result<(), InstrumentError> {
        for id in ADDED {
            if rank(id) < r && rank(id) > self.last_rank && !self.emitted.contains(&rank(id)) {
                self.emitted.insert(rank(id));
                match id {
                    SectionId::Type => self.finish_types(TypeSection::new()),
                    SectionId::Import => {
                        let s = self.new_imports();
                        self.module.section(&s);
                    }
                    SectionId::Function => self.finish_functions(FunctionSection::new()),
                    SectionId::Memory => self.finish_memories(MemorySection::new()),
                    SectionId::Global => self.finish_globals(GlobalSection::new()),
                    SectionId::Export => self.finish_exports(ExportSection::new()),
                    SectionId::Code => {
                        let mut s = CodeSection::new();
                        self.finish_code(&mut s);
                        if !s.is_empty() {
                            self.module.section(&s);
                        }
                    }
                    _ => unreachable!("not an added section"),
                }
            }
        }
        Ok(())
    }

    fn finish_types(&mut self, mut s: TypeSection) {
        for h in Hook::ALL {
            s.ty()
                .function(h.params().iter().copied(), h.results().iter().copied());
        }
        s.ty().function([ValType::I32, ValType::I32], []);
        self.module.section(&s);
    }

    fn new_imports(&self) -> ImportSection {
        let mut s = ImportSection::new();
        for h in Hook::ALL {
            s.import(
                IMPORT_MODULE,
                h.name(),
                EntityType::Function(self.hook_type(h)),
            );
        }
        s
    }

    fn finish_functions(&mut self, mut s: FunctionSection) {
        if self.helper() {
            s.function(self.helper_type());
        }
        if !s.is_empty() {
            self.module.section(&s);
        }
    }

    fn finish_memories(&mut self, mut s: MemorySection) {
        let buffer = &self.ctx.buffer;
        let bytes = buffer
            .filter
            .map_or(u64::from(buffer.capacity), |f| f.end());
        let pages = bytes.div_ceil(65536);
        s.memory(MemoryType {
            minimum: pages,
            maximum: Some(pages),
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        self.module.section(&s);
    }

    fn finish_globals(&mut self, mut s: GlobalSection) {
        s.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
        if let Some(filter) = self.ctx.buffer.filter {
            let mutable = |val_type| GlobalType {
                val_type,
                mutable: true,
                shared: false,
            };
            // Generation 1: the zeroed table's slots (generation 0) are all dead.
            s.global(mutable(ValType::I64), &ConstExpr::i64_const(1));
            s.global(
                mutable(ValType::I32),
                &ConstExpr::i32_const(filter.initial_mask() as i32),
            );
            s.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        }
        self.module.section(&s);
    }

    fn finish_exports(&mut self, mut s: ExportSection) {
        s.export(EVENTS_EXPORT, ExportKind::Memory, self.ctx.buffer.memory);
        s.export(CURSOR_EXPORT, ExportKind::Global, self.ctx.buffer.cursor);
        if let Some(filter) = self.ctx.buffer.filter {
            s.export(
                GENERATION_EXPORT,
                ExportKind::Global,
                filter.generation_global,
            );
        }
        self.module.section(&s);
    }

    fn finish_code(&mut self, s: &mut CodeSection) {
        if self.helper() {
            let helper: Function = self.ctx.buffer.helper_body();
            s.function(&helper);
        }
    }

    fn code(&mut self, reader: CodeSectionReader<'_>) -> Result<(), InstrumentError> {
        let mut s = CodeSection::new();
        for (k, body) in reader.into_iter().enumerate() {
            let body = body?;
            let func = self.ctx.info.imported_funcs + k as u32;
            let instrument = !self.skip.contains(&func);
            let rewritten = rewrite_body(&self.ctx, &body, func, instrument, &mut self.sites)?;
            s.function(&rewritten.function);
            let range = body.range();
            self.bodies.push(PendingBody {
                input_func: func,
                input: range.start as u32..range.end as u32,
                entries: rewritten.entries,
            });
        }
        self.finish_code(&mut s);
        self.module.section(&s);
        Ok(())
    }

    fn custom(
        &mut self,
        reader: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), InstrumentError> {
        if is_offset_dependent_custom(reader.name()) {
            return Ok(());
        }
        if let KnownCustom::Name(names) = reader.as_known() {
            let mut out = NameSection::new();
            for sub in names {
                match sub? {
                    Name::Function(map) => {
                        let mut m = NameMap::new();
                        for h in Hook::ALL {
                            m.append(h.func_index(), &format!("{IMPORT_MODULE}::{}", h.name()));
                        }
                        for naming in map {
                            let naming = naming?;
                            m.append(naming.index + Hook::COUNT, naming.name);
                        }
                        if self.helper() {
                            m.append(self.ctx.buffer.helper, "wasmgrind::record");
                        }
                        out.functions(&m);
                    }
                    other => utils::parse_custom_name_subsection(&mut self.remap, &mut out, other)
                        .map_err(|e| InstrumentError::reencode("name section", e))?,
                }
            }
            self.module.section(&out);
            return Ok(());
        }
        self.module.section(&CustomSection {
            name: reader.name().into(),
            data: reader.data().into(),
        });
        Ok(())
    }
}

/// `wasmparser`'s raw section id as an encoder [`SectionId`].
fn section_id(id: u8) -> Option<SectionId> {
    Some(match id {
        0 => SectionId::Custom,
        1 => SectionId::Type,
        2 => SectionId::Import,
        3 => SectionId::Function,
        4 => SectionId::Table,
        5 => SectionId::Memory,
        6 => SectionId::Global,
        7 => SectionId::Export,
        8 => SectionId::Start,
        9 => SectionId::Element,
        10 => SectionId::Code,
        11 => SectionId::Data,
        12 => SectionId::DataCount,
        13 => SectionId::Tag,
        _ => return None,
    })
}

/// Places each rewritten body's entries at its final position in `out`.
fn build_offset_map(out: &[u8], bodies: Vec<PendingBody>) -> Result<OffsetMap, InstrumentError> {
    let mut starts = Vec::with_capacity(bodies.len() + 1);
    for payload in Parser::new(0).parse_all(out) {
        if let Payload::CodeSectionEntry(body) =
            payload.map_err(|e| InstrumentError::Internal(e.to_string()))?
        {
            starts.push(body.range());
        }
    }
    let mut map = OffsetMap::default();
    for (body, new) in bodies.into_iter().zip(starts) {
        let base = new.start as u32;
        map.entries
            .extend(body.entries.iter().map(|&(rel, old)| (base + rel, old)));
        map.bodies.push(BodyMap {
            input_func: body.input_func,
            instrumented: base..new.end as u32,
            input: body.input,
        });
    }
    Ok(map)
}
