//! Golden tests of the terminal report.

mod common;

use common::{design_race, frame};
use wasmgrind_report::{
    Access, AccessKind, AddressDescription, Finding, Frame, Race, Tally, TextRenderer,
};

fn lines(finding: &Finding) -> Vec<String> {
    let mut out = Vec::new();
    TextRenderer::new(1234).write(&mut out, finding).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn design_example_is_reproduced_exactly() {
    assert_eq!(
        lines(&design_race()),
        [
            "==================",
            "WARNING: wasmgrind: data race (pid 1234)",
            "  Write of size 4 at 0x00110a40 by thread 2:",
            "    #0 racy::bump at src/main.rs:14:9",
            "    #1 racy::main::{{closure}} at src/main.rs:22:13",
            "  Previous read of size 4 at 0x00110a40 by thread 1:",
            "    #0 racy::bump at src/main.rs:13:17",
            "  Location is global 'racy::COUNTER' of size 4 at 0x00110a40",
            "SUMMARY: wasmgrind: data race src/main.rs:14:9 in racy::bump",
            "==================",
        ]
    );
}

#[test]
fn render_ends_with_newline_and_matches_write() {
    let r = TextRenderer::new(1);
    let s = r.render(&design_race());
    assert!(s.ends_with("==================\n"));
    let mut out = Vec::new();
    r.write(&mut out, &design_race()).unwrap();
    assert_eq!(out, s.into_bytes());
}

fn atomic_race(location: Option<AddressDescription>) -> Finding {
    Finding::DataRace(Race {
        current: Access {
            kind: AccessKind::AtomicWrite,
            size: 8,
            addr: 0x2000,
            thread: 3,
            stack: vec![Frame {
                func_index: Some(12),
                function_offset: Some(0x34),
                code_offset: Some(0x1234),
                ..Frame::default()
            }],
        },
        previous: Access {
            kind: AccessKind::AtomicRead,
            size: 4,
            addr: 0x2004,
            thread: 0,
            stack: vec![frame(
                "std::sync::Once::call",
                "/rustc/abc/library/std/src/sync/once.rs",
                5,
                1,
                0x300,
            )],
        },
        location,
    })
}

#[test]
fn atomic_accesses_heap_and_missing_debug_info() {
    assert_eq!(
        lines(&atomic_race(Some(AddressDescription::Heap))),
        [
            "==================",
            "WARNING: wasmgrind: data race (pid 1234)",
            "  Atomic write of size 8 at 0x00002000 by thread 3:",
            "    #0 wasm-function[12]+0x34",
            "  Previous atomic read of size 4 at 0x00002004 by thread 0:",
            "    #0 std::sync::Once::call at library/std/src/sync/once.rs:5:1",
            "  Location is heap",
            "SUMMARY: wasmgrind: data race in wasm-function[12]+0x34",
            "==================",
        ]
    );
}

#[test]
fn stack_location_and_unknown_location() {
    let stack = lines(&atomic_race(Some(AddressDescription::Stack { thread: 3 })));
    assert_eq!(stack[6], "  Location is stack of thread 3");
    let unknown = lines(&atomic_race(Some(AddressDescription::Unknown)));
    let none = lines(&atomic_race(None));
    assert_eq!(unknown, none);
    assert!(unknown[6].starts_with("SUMMARY: "), "{unknown:?}");
}

#[test]
fn empty_stacks_say_so() {
    let Finding::DataRace(mut race) = design_race() else {
        unreachable!()
    };
    race.current.stack.clear();
    let l = lines(&Finding::DataRace(race));
    assert_eq!(l[3], "    <empty stack>");
    assert_eq!(l[l.len() - 2], "SUMMARY: wasmgrind: data race");
}

#[test]
fn tally_counts_by_kind() {
    assert_eq!(Tally::new().line(), "wasmgrind: no findings");
    let one: Tally = [design_race()].iter().collect();
    assert_eq!(one.line(), "wasmgrind: found 1 data race");
    let three: Tally = [design_race(), design_race(), design_race()]
        .iter()
        .collect();
    assert_eq!(three.total(), 3);
    let mut out = Vec::new();
    three.write(&mut out).unwrap();
    assert_eq!(out, b"wasmgrind: found 3 data races\n");
}

#[test]
fn summary_skips_inlined_standard_library_frames() {
    let Finding::DataRace(mut race) = design_race() else {
        unreachable!()
    };
    race.current.stack.insert(
        0,
        frame(
            "core::ptr::write_volatile",
            "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/ptr/mod.rs",
            2178,
            9,
            0x120,
        ),
    );
    let l = lines(&Finding::DataRace(race.clone()));
    assert_eq!(
        l[3],
        "    #0 core::ptr::write_volatile at library/core/src/ptr/mod.rs:2178:9"
    );
    assert_eq!(l[4], "    #1 racy::bump at src/main.rs:14:9");
    assert_eq!(
        l[l.len() - 2],
        "SUMMARY: wasmgrind: data race src/main.rs:14:9 in racy::bump"
    );
    // Only standard-library frames: the innermost one is summarized.
    race.current.stack.truncate(1);
    let l = lines(&Finding::DataRace(race));
    assert_eq!(
        l[l.len() - 2],
        "SUMMARY: wasmgrind: data race library/core/src/ptr/mod.rs:2178:9 in core::ptr::write_volatile"
    );
}

#[test]
fn summary_skips_build_std_and_wasi_libc_frames() {
    let Finding::DataRace(mut race) = design_race() else {
        unreachable!()
    };
    race.current.stack.splice(
        0..0,
        [
            frame(
                "memcpy",
                "wasisdk://v30.0/build/sysroot/wasi-libc-wasm32-wasip1-threads-build-prefix/src/wasi-libc-wasm32-wasip1-threads-build-build/wasisdk://v30.0/src/wasi-libc/libc-top-half/musl/src/string/memcpy.c",
                30,
                3,
                0x118,
            ),
            frame(
                "core::ops::function::FnOnce::call_once",
                "/root/.rustup/toolchains/nightly-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/ops/function.rs",
                250,
                5,
                0x11c,
            ),
        ],
    );
    let l = lines(&Finding::DataRace(race));
    assert_eq!(
        l[3],
        "    #0 memcpy at wasi-libc/libc-top-half/musl/src/string/memcpy.c:30:3"
    );
    assert_eq!(
        l[4],
        "    #1 core::ops::function::FnOnce::call_once at library/core/src/ops/function.rs:250:5"
    );
    assert_eq!(l[5], "    #2 racy::bump at src/main.rs:14:9");
    assert_eq!(
        l[l.len() - 2],
        "SUMMARY: wasmgrind: data race src/main.rs:14:9 in racy::bump"
    );
}
