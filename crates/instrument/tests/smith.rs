//! Random modules from wasm-smith (threads, shared memory, bulk memory, SIMD, reference types,
//! tail calls, GC, exceptions...) always instrument into valid modules, with and without the
//! repeat filter and its per-site policies.

mod common;

use arbitrary::Unstructured;
use wasmgrind_instrument::{
    instrument_with_mode, InstrumentError, Options, PlainPolicy, RecordMode,
};
use wasmparser::{Validator, WasmFeatures};

/// Deterministic xorshift64* byte source, so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

fn config() -> wasm_smith::Config {
    wasm_smith::Config {
        threads_enabled: true,
        bulk_memory_enabled: true,
        simd_enabled: true,
        reference_types_enabled: true,
        tail_call_enabled: true,
        // Records carry 32-bit addresses: memory64 shared memories are rejected by design.
        memory64_enabled: false,
        max_memories: 2,
        max_funcs: 20,
        max_instructions: 300,
        ..wasm_smith::Config::default()
    }
}

#[test]
fn random_modules_instrument_into_valid_modules() {
    let (mut ok, mut with_sites, mut unsupported) = (0, 0, 0);
    for seed in 0..300u64 {
        let data = bytes(seed, 8 * 1024);
        let mut u = Unstructured::new(&data);
        let Ok(module) = wasm_smith::Module::new(config(), &mut u) else {
            continue;
        };
        let input = module.to_bytes();
        if Validator::new_with_features(WasmFeatures::all())
            .validate_all(&input)
            .is_err()
        {
            continue;
        }
        let opts = Options {
            all_memories: seed % 2 == 0,
            call_stacks: seed % 3 != 0,
            buffer_bytes: 8 * (1 + seed as u32 % 5000),
            // The repeat filter on two seeds in three, with every policy mixed.
            filter_repeats: seed % 3 != 1,
            filter_slots: 2 << (seed % 12),
            plain_policy: (0..4096)
                .map(|i| match (i + seed) % 3 {
                    0 => PlainPolicy::Filter,
                    1 => PlainPolicy::Always,
                    _ => PlainPolicy::Skip,
                })
                .collect(),
            ..Options::default()
        };
        let mode = if seed % 4 == 0 {
            RecordMode::Helper
        } else {
            RecordMode::Inline
        };
        match instrument_with_mode(&input, &opts, mode) {
            Ok(out) => {
                if let Err(e) =
                    Validator::new_with_features(WasmFeatures::all()).validate_all(&out.wasm)
                {
                    panic!(
                        "seed {seed}: instrumented module invalid: {e}\n{}",
                        common::print(&out.wasm)
                    );
                }
                let entries: usize = common::instructions(&input).len();
                assert_eq!(out.offset_map.entries.len(), entries, "seed {seed}");
                let unfiltered = Options {
                    filter_repeats: false,
                    plain_policy: Vec::new(),
                    ..opts
                };
                let plain = instrument_with_mode(&input, &unfiltered, mode)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                assert_eq!(
                    out.sites, plain.sites,
                    "seed {seed}: the filter renumbered sites"
                );
                ok += 1;
                with_sites += usize::from(!out.sites.is_empty());
            }
            Err(InstrumentError::Unsupported(_)) => unsupported += 1,
            Err(e) => panic!("seed {seed}: {e}"),
        }
    }
    println!("{ok} instrumented ({with_sites} with sites), {unsupported} unsupported");
    assert!(ok >= 200, "only {ok} modules instrumented");
    assert!(with_sites >= 50, "only {with_sites} modules had sites");
}
