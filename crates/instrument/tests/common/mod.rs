//! Helpers shared by the integration tests.
#![allow(dead_code)]

use wasmgrind_instrument::{instrument, Hook, Instrumented, Options};
use wasmparser::{Operator, Parser, Payload, Validator, WasmFeatures};

/// Validates `wasm` with every feature the pass may meet turned on.
pub fn validate(wasm: &[u8]) {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(wasm)
        .unwrap_or_else(|e| panic!("invalid module: {e}\n{}", print(wasm)));
}

/// Text of `wasm` for failure messages.
pub fn print(wasm: &[u8]) -> String {
    wasmprinter::print_bytes(wasm).unwrap_or_else(|e| format!("<unprintable: {e}>"))
}

/// Parses the WAT, validates it, instruments it with `opts`, validates the output.
pub fn run(wat: &str, opts: &Options) -> (Vec<u8>, Instrumented) {
    let input = wat::parse_str(wat).expect("test WAT parses");
    validate(&input);
    let out = instrument(&input, opts).expect("instrumentation succeeds");
    validate(&out.wasm);
    (input, out)
}

/// One instruction of a module: defined-function index (imports counted), module offset,
/// operator text.
#[derive(Debug, Clone)]
pub struct Instr {
    pub func: u32,
    pub offset: u32,
    pub body_start: u32,
    pub op: String,
    pub call_target: Option<u32>,
    pub i32_const: Option<i32>,
    pub i64_const: Option<i64>,
    pub memory: Option<u32>,
}

/// Every instruction of every body, read independently of the pass with `read_with_offset`.
pub fn instructions(wasm: &[u8]) -> Vec<Instr> {
    let mut imported = 0;
    let mut k = 0;
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    if matches!(i.unwrap().ty, wasmparser::TypeRef::Func(_)) {
                        imported += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => {
                let func = imported + k;
                k += 1;
                let mut r = body.get_operators_reader().unwrap();
                while !r.eof() {
                    let (op, off) = r.read_with_offset().unwrap();
                    out.push(Instr {
                        func,
                        offset: off as u32,
                        body_start: body.range().start as u32,
                        op: format!("{op:?}"),
                        call_target: match op {
                            Operator::Call { function_index } => Some(function_index),
                            _ => None,
                        },
                        i32_const: match op {
                            Operator::I32Const { value } => Some(value),
                            _ => None,
                        },
                        i64_const: match op {
                            Operator::I64Const { value } => Some(value),
                            _ => None,
                        },
                        memory: memory_of(&op),
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn memory_of(op: &Operator) -> Option<u32> {
    let text = format!("{op:?}");
    let idx = text.find("memory: ")?;
    let rest = &text[idx + 8..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Checks, for every hook call and inline record in the output, that the site it passes maps
/// back through the offset map to that site's input instruction, and that each site's input
/// offset is an instruction of its function. Returns how many hook calls and records were seen.
pub fn check_site_locations(input: &[u8], out: &Instrumented) -> (usize, usize) {
    let inputs = instructions(input);
    for site in &out.sites {
        let i = inputs
            .iter()
            .find(|i| i.offset == site.offset)
            .unwrap_or_else(|| panic!("site {site:?} is not at an input instruction"));
        assert_eq!(i.func, site.func, "site {site:?} in wrong function");
        assert_eq!(i.offset - i.body_start, site.body_offset);
    }
    let outs = instructions(&out.wasm);
    let (mut hooks, mut records) = (0, 0);
    for (n, ins) in outs.iter().enumerate() {
        if let Some(target) = ins.call_target {
            if target < Hook::COUNT && target != Hook::Flush.func_index() {
                // The site is the first argument, and the only i32.const among the arguments.
                let site = outs[..n]
                    .iter()
                    .rev()
                    .find_map(|i| i.i32_const)
                    .expect("site const") as u32;
                let site = out.sites[site as usize];
                assert_eq!(
                    out.offset_map.lookup(ins.offset),
                    Some(site.offset),
                    "hook call at {:#x}",
                    ins.offset
                );
                hooks += 1;
            }
        }
        if let Some(v) = ins.i64_const {
            // Inline record: the constant is site << 32.
            if v as u64 & 0xffff_ffff == 0
                && outs
                    .get(n + 1)
                    .is_some_and(|x| x.op == "I64Or" || x.op.starts_with("I64Store"))
            {
                let site = out.sites[(v as u64 >> 32) as usize];
                assert_eq!(out.offset_map.lookup(ins.offset), Some(site.offset));
                records += 1;
            }
        }
    }
    (hooks, records)
}
