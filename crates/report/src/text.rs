//! The terminal report, in ThreadSanitizer's shape.

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::finding::{Access, AddressDescription, Finding, Race};

/// The fence line around every report.
pub const FENCE: &str = "==================";

/// Renders findings as text blocks like:
///
/// ```text
/// ==================
/// WARNING: wasmgrind: data race (pid 1234)
///   Write of size 4 at 0x00110a40 by thread 2:
///     #0 racy::bump at src/main.rs:14:9
///   Previous read of size 4 at 0x00110a40 by thread 1:
///     #0 racy::bump at src/main.rs:13:17
///   Location is global 'racy::COUNTER' of size 4 at 0x00110a40
/// SUMMARY: wasmgrind: data race src/main.rs:14:9 in racy::bump
/// ==================
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TextRenderer {
    /// Process id printed in the `WARNING` line.
    pub pid: u32,
}

impl Default for TextRenderer {
    /// Uses the current process id.
    fn default() -> Self {
        TextRenderer {
            pid: std::process::id(),
        }
    }
}

impl TextRenderer {
    /// A renderer printing `pid` in its headers.
    pub fn new(pid: u32) -> TextRenderer {
        TextRenderer { pid }
    }

    /// The whole report for `finding`, fences included, each line ending in `\n`.
    pub fn render(&self, finding: &Finding) -> String {
        let mut s = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(s, "{FENCE}");
        let _ = writeln!(
            s,
            "WARNING: wasmgrind: {} (pid {})",
            finding.title(),
            self.pid
        );
        match finding {
            Finding::DataRace(race) => render_race(&mut s, race),
            Finding::LockOrderInversion(inversion) => {
                crate::lock_order::render_lock_order(&mut s, inversion)
            }
            Finding::LockMisuse(misuse) => crate::lock_misuse::render_lock_misuse(&mut s, misuse),
            Finding::Hang(hang) => crate::hang::render_hang(&mut s, hang),
        }
        let _ = writeln!(s, "SUMMARY: wasmgrind: {}", finding.summary());
        let _ = writeln!(s, "{FENCE}");
        s
    }

    /// Writes the report for `finding` to `out` in a single `write_all`, so that
    /// reports from concurrent threads do not interleave line by line.
    pub fn write<W: Write + ?Sized>(&self, out: &mut W, finding: &Finding) -> io::Result<()> {
        out.write_all(self.render(finding).as_bytes())
    }
}

fn render_race(s: &mut String, race: &Race) {
    render_access(s, &race.current, race.current.kind.capitalized());
    render_access(
        s,
        &race.previous,
        &format!("Previous {}", race.previous.kind.lower()),
    );
    match &race.location {
        Some(AddressDescription::Global(g)) => {
            let _ = writeln!(
                s,
                "  Location is global '{}' of size {} at 0x{:08x}",
                g.name, g.size, g.addr
            );
        }
        Some(AddressDescription::Heap) => {
            let _ = writeln!(s, "  Location is heap");
        }
        Some(AddressDescription::Stack { thread }) => {
            let _ = writeln!(s, "  Location is stack of thread {thread}");
        }
        Some(AddressDescription::Unknown) | None => {}
    }
}

fn render_access(s: &mut String, access: &Access, what: &str) {
    let _ = writeln!(
        s,
        "  {what} of size {} at 0x{:08x} by thread {}:",
        access.size, access.addr, access.thread
    );
    if access.stack.is_empty() {
        let _ = writeln!(s, "    <empty stack>");
    }
    for (i, frame) in access.stack.iter().enumerate() {
        let _ = writeln!(s, "    #{i} {frame}");
    }
}
