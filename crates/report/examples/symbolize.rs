//! Prints the symbolized frames of every call and memory instruction of a module
//! whose frames include an unqualified name (or, with `--all`, of every one), for
//! inspecting symbolization quality on real binaries:
//! `cargo run -p wasmgrind-report --example symbolize -- module.wasm [--all]`.

use std::process::ExitCode;

use wasmgrind_report::Symbolizer;
use wasmparser::{Operator, Parser, Payload};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: symbolize MODULE.wasm [--all]");
        return ExitCode::from(2);
    };
    let all = args.any(|a| a == "--all");
    let wasm = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sym = match Symbolizer::new(&wasm) {
        Ok(sym) => sym,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("{:x?}", sym.data_layout());
    let mut offsets = Vec::new();
    for payload in Parser::new(0).parse_all(&wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else {
            continue;
        };
        let Ok(reader) = body.get_operators_reader() else {
            continue;
        };
        for item in reader.into_iter_with_offsets() {
            let Ok((op, offset)) = item else { break };
            let interesting = matches!(
                op,
                Operator::Call { .. }
                    | Operator::CallIndirect { .. }
                    | Operator::Unreachable
                    | Operator::I32Load { .. }
                    | Operator::I32Store { .. }
            );
            if interesting {
                offsets.push(u32::try_from(offset).unwrap_or(u32::MAX));
            }
        }
    }
    let mut shown = 0usize;
    let mut unqualified = 0usize;
    for offset in &offsets {
        let frames = sym.frames(*offset);
        let bad = frames
            .iter()
            .any(|f| f.function.as_deref().is_some_and(|n| !n.contains("::")));
        unqualified += usize::from(bad);
        if all || bad {
            shown += 1;
            println!("0x{offset:x}:");
            for (i, f) in frames.iter().enumerate() {
                println!("    #{i} {f}");
            }
        }
    }
    eprintln!(
        "{} sites, {unqualified} with an unqualified frame, {shown} shown",
        offsets.len()
    );
    ExitCode::SUCCESS
}
