//! Findings built by hand for the output tests.
#![allow(dead_code)]

use wasmgrind_report::{
    Access, AccessKind, AddressDescription, Finding, Frame, GlobalSymbol, Race,
};

pub fn frame(function: &str, file: &str, line: u32, column: u32, offset: u32) -> Frame {
    Frame {
        func_index: Some(7),
        function: Some(function.into()),
        file: Some(file.into()),
        line: Some(line),
        column: Some(column),
        code_offset: Some(offset),
        function_offset: Some(offset - 0x100),
    }
}

/// DESIGN.md's example race.
pub fn design_race() -> Finding {
    Finding::DataRace(Race {
        current: Access {
            kind: AccessKind::Write,
            size: 4,
            addr: 0x0011_0a40,
            thread: 2,
            stack: vec![
                frame("racy::bump", "/home/u/racy/src/main.rs", 14, 9, 0x120),
                frame(
                    "racy::main::{{closure}}",
                    "/home/u/racy/src/main.rs",
                    22,
                    13,
                    0x190,
                ),
            ],
        },
        previous: Access {
            kind: AccessKind::Read,
            size: 4,
            addr: 0x0011_0a40,
            thread: 1,
            stack: vec![frame(
                "racy::bump",
                "/home/u/racy/src/main.rs",
                13,
                17,
                0x110,
            )],
        },
        location: Some(AddressDescription::Global(GlobalSymbol {
            name: "racy::COUNTER".into(),
            addr: 0x0011_0a40,
            size: 4,
        })),
    })
}

/// A race between two given innermost sites (offsets), for dedup tests.
pub fn race_between(current: u32, previous: u32) -> Finding {
    let Finding::DataRace(mut race) = design_race() else {
        unreachable!()
    };
    // A different site is different code at a different source line.
    race.current.stack[0].code_offset = Some(current);
    race.current.stack[0].line = Some(current);
    race.current.stack[0].column = None;
    race.previous.stack[0].code_offset = Some(previous);
    race.previous.stack[0].line = Some(previous);
    race.previous.stack[0].column = None;
    Finding::DataRace(race)
}
