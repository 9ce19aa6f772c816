//! Threadify on the real wasm_threadlink guests (`guests/threadlink`, built with nightly
//! `-Z build-std` exactly as the CLI tests build them): every output validates, keeps the
//! original code and custom sections, and is recognized as threadified.

mod common;

use common::{build_guests, GUESTS};
use wasmgrind_threadify::{
    features, is_threadified, is_threadlink_module, threadify, ThreadifyError,
};
use wasmparser::{Parser, Payload, Validator};

fn code_bodies(wasm: &[u8]) -> Vec<(usize, &[u8])> {
    let mut start = 0;
    let mut out = Vec::new();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.unwrap() {
            Payload::CodeSectionStart { range, .. } => start = range.start,
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                out.push((range.start - start, &wasm[range]));
            }
            _ => {}
        }
    }
    out
}

fn custom_sections(wasm: &[u8]) -> Vec<(String, Vec<u8>)> {
    Parser::new(0)
        .parse_all(wasm)
        .filter_map(|p| match p.unwrap() {
            Payload::CustomSection(c) => Some((c.name().to_string(), c.data().to_vec())),
            _ => None,
        })
        .collect()
}

#[test]
fn every_guest_threadifies_to_a_valid_module() {
    let dir = build_guests();
    for name in GUESTS {
        let path = dir.join(format!("{name}.wasm"));
        let input = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            is_threadlink_module(&input),
            "{name} imports wasm_threadlink"
        );
        assert!(!is_threadified(&input));

        let output = threadify(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        Validator::new_with_features(features())
            .validate_all(&output)
            .unwrap_or_else(|e| panic!("{name}: threadified module invalid: {e}"));
        assert!(is_threadified(&output));
        assert!(matches!(
            threadify(&output),
            Err(ThreadifyError::AlreadyThreadified)
        ));

        let before = code_bodies(&input);
        let after = code_bodies(&output);
        assert_eq!(after.len(), before.len() + 4, "{name}");
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "{name}: bodies or offsets moved"
        );

        let customs = custom_sections(&output);
        let debug_sections = custom_sections(&input)
            .into_iter()
            .filter(|(n, _)| n != "name")
            .collect::<Vec<_>>();
        assert!(
            debug_sections.iter().any(|(n, _)| n == ".debug_line"),
            "{name} was built with line tables"
        );
        for section in &debug_sections {
            assert!(customs.contains(section), "{name}: {} kept", section.0);
        }
    }
}
