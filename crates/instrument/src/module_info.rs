//! A first pass over the input collecting the index spaces the rewrite needs to know up front.

use std::collections::HashSet;
use wasmparser::{
    CompositeInnerType, ConstExpr, ElementItems, ExternalKind, MemoryType, Operator, Parser,
    Payload, TypeRef, ValType,
};

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
    /// Whether an imported function may be reached through a table or a function
    /// reference (`call_indirect`, `call_ref`). When not, such calls only reach the
    /// module's own functions, which mark their own import calls, so the repeat filter
    /// need not start a new generation after them. Conservative: true whenever an
    /// import may be in a table (an elem segment names one, a table is imported or
    /// exported) or a reference to one may exist (`ref.func` of an import, which
    /// validation allows only for functions named in elems, exports or globals; a
    /// reference-typed imported global or import result).
    pub imports_by_reference: bool,
    /// Per type index: a function type with a reference-typed result.
    type_returns_ref: Vec<bool>,
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
                            let func = match &sub.composite_type.inner {
                                CompositeInnerType::Func(f) => Some(f),
                                _ => None,
                            };
                            info.type_params.push(func.map(|f| f.params().len() as u32));
                            info.type_returns_ref.push(func.is_some_and(|f| {
                                f.results().iter().any(|r| matches!(r, ValType::Ref(_)))
                            }));
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
                            TypeRef::Global(g) => {
                                info.num_globals += 1;
                                if matches!(g.content_type, ValType::Ref(_)) {
                                    info.imports_by_reference = true;
                                }
                            }
                            TypeRef::Table(_) => info.imports_by_reference = true,
                            TypeRef::Tag(_) => {}
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
                        let g = g?;
                        info.num_globals += 1;
                        if info.names_an_import(&g.init_expr)? {
                            info.imports_by_reference = true;
                        }
                    }
                }
                Payload::ExportSection(reader) => {
                    for e in reader {
                        let e = e?;
                        info.export_names.insert(e.name.to_string());
                        match e.kind {
                            ExternalKind::Table => info.imports_by_reference = true,
                            ExternalKind::Func | ExternalKind::FuncExact
                                if e.index < info.imported_funcs =>
                            {
                                info.imports_by_reference = true;
                            }
                            _ => {}
                        }
                    }
                }
                Payload::ElementSection(reader) => {
                    for element in reader {
                        let named = match element?.items {
                            ElementItems::Functions(funcs) => {
                                let mut any = false;
                                for f in funcs {
                                    any |= f? < info.imported_funcs;
                                }
                                any
                            }
                            ElementItems::Expressions(_, exprs) => {
                                let mut any = false;
                                for e in exprs {
                                    any |= info.names_an_import(&e?)?;
                                }
                                any
                            }
                        };
                        if named {
                            info.imports_by_reference = true;
                        }
                    }
                }
                _ => {}
            }
        }
        let import_returns_ref = info.func_types[..info.imported_funcs as usize]
            .iter()
            .any(|&ty| info.type_returns_ref.get(ty as usize) == Some(&true));
        if import_returns_ref {
            info.imports_by_reference = true;
        }
        Ok(info)
    }

    /// Whether constant expression `expr` may yield a reference to an imported function
    /// (`ref.func` of one, or any `global.get`: conservatively).
    fn names_an_import(&self, expr: &ConstExpr<'_>) -> Result<bool, InstrumentError> {
        for op in expr.get_operators_reader() {
            match op? {
                Operator::RefFunc { function_index } if function_index < self.imported_funcs => {
                    return Ok(true)
                }
                Operator::GlobalGet { .. } => return Ok(true),
                _ => {}
            }
        }
        Ok(false)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `imports_by_reference` of a module importing `$f` and then holding `rest`.
    fn by_reference(rest: &str) -> bool {
        let wat = format!("(module (import \"env\" \"f\" (func $f)) {rest})");
        ModuleInfo::scan(&wat::parse_str(wat).unwrap())
            .unwrap()
            .imports_by_reference
    }

    #[test]
    fn only_these_give_a_way_to_an_import_by_reference() {
        let own = "(func $g) (table 1 funcref) (elem (i32.const 0) $g) (elem declare func $g)";
        assert!(!by_reference(own));
        assert!(!by_reference("(func $g) (global funcref (ref.func $g))"));
        for rest in [
            "(table 1 funcref) (elem (i32.const 0) $f)",
            "(table 1 funcref) (elem (i32.const 0) funcref (ref.func $f))",
            "(elem declare func $f)",
            "(export \"f\" (func $f))",
            "(table (export \"t\") 1 funcref)",
            "(import \"env\" \"t\" (table 1 funcref))",
            "(import \"env\" \"g\" (global funcref))",
            "(import \"env\" \"r\" (func (result funcref)))",
            "(global funcref (ref.func $f))",
        ] {
            assert!(by_reference(rest), "{rest}");
        }
    }
}
