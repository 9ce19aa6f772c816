//! Printing a [`Report`] for people (text) and programs (JSON).
//!
//! Locations print as `location <id>`, plus `(function F, offset 0xO)` when metadata
//! knows them, or as whatever a [`LocationLabeler`] returns — the seam where
//! `wasmgrind_report::Symbolizer` (function name, file:line) plugs in.

use std::io::{self, Write};

use wasmgrind_trace::{Metadata, Names};

use crate::report::{EventRef, Report};

/// Turns a location id into a human description (e.g. `racy::bump at src/main.rs:14:9`).
pub trait LocationLabeler {
    /// The description of location `loc`, or `None` to fall back to the metadata.
    fn label(&self, loc: u32) -> Option<String>;
}

/// What the text renderer knows about the trace besides the report.
#[derive(Default)]
pub struct RenderContext<'a> {
    /// Names of threads and locations (from STD input or metadata).
    pub names: Option<&'a Names>,
    /// Location → function/offset, variable → address.
    pub metadata: Option<&'a Metadata>,
    /// Symbolizer, when a module is at hand.
    pub labeler: Option<&'a dyn LocationLabeler>,
}

impl RenderContext<'_> {
    fn thread(&self, t: u32) -> String {
        match self.names.and_then(|n| n.thread(t)) {
            Some(name) => format!("thread {t} ({name})"),
            None => format!("thread {t}"),
        }
    }

    fn location(&self, loc: u32) -> String {
        if let Some(l) = self.labeler.and_then(|l| l.label(loc)) {
            return l;
        }
        let mut s = match self.names.and_then(|n| n.location(loc)) {
            Some(name) => format!("location {loc} ({name})"),
            None => format!("location {loc}"),
        };
        if let Some(info) = self.metadata.and_then(|m| m.locations.get(&loc)) {
            s.push_str(&format!(
                " (function {}, offset {:#x})",
                info.function, info.offset
            ));
        }
        s
    }

    fn event(&self, e: &EventRef) -> String {
        let what = match e.op.std_name() {
            "r" => "read",
            "w" => "write",
            other => other,
        };
        format!(
            "{what} by {} at {} (event {})",
            self.thread(e.thread),
            self.location(e.loc),
            e.index
        )
    }
}

/// Writes the report as text: each race pair and potential deadlock, then the counts.
pub fn write_text(report: &Report, ctx: &RenderContext<'_>, out: &mut dyn Write) -> io::Result<()> {
    for (i, race) in report.races.iter().enumerate() {
        writeln!(out, "race #{}:", i + 1)?;
        writeln!(out, "  {}", ctx.event(&race.second))?;
        writeln!(out, "  races with earlier {}", ctx.event(&race.first))?;
    }
    if report.races_truncated {
        writeln!(
            out,
            "(only the first {} distinct location pairs are listed)",
            report.races.len()
        )?;
    }
    for (i, d) in report.deadlocks.iter().enumerate() {
        writeln!(out, "potential deadlock #{}:", i + 1)?;
        for e in &d.edges {
            let lock = |l: u64| {
                ctx.names
                    .and_then(|n| n.lock(l))
                    .map(|n| format!("lock {l} ({n})"))
                    .unwrap_or_else(|| format!("lock {l}"))
            };
            writeln!(
                out,
                "  {} holds {} (acquired at {}) and acquires {} at {}",
                ctx.thread(e.to.thread),
                lock(e.from_lock),
                ctx.location(e.from.loc),
                lock(e.to_lock),
                ctx.location(e.to.loc)
            )?;
        }
    }
    writeln!(out, "engine: {}", report.engine)?;
    writeln!(out, "events: {}", report.events)?;
    if report.engine == "deadlock" {
        writeln!(out, "potential deadlocks: {}", report.deadlocks.len())?;
    }
    writeln!(out, "racy events: {}", report.racy_events)?;
    writeln!(out, "racy locations: {}", report.racy_locations)
}

/// Writes the report as JSON (field names in [`crate::report`]), one document.
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RacePair;
    use wasmgrind_trace::metadata::LocationInfo;
    use wasmgrind_trace::Op;

    fn report() -> Report {
        let e = |thread, loc, index, op| EventRef {
            thread,
            loc,
            index,
            op,
        };
        Report {
            engine: "fasttrack".into(),
            events: 10,
            racy_events: 2,
            racy_locations: 1,
            races: vec![RacePair {
                first: e(1, 13, 3, Op::Read),
                second: e(2, 14, 7, Op::Write),
            }],
            races_truncated: false,
            deadlocks: vec![],
        }
    }

    struct Fixed;
    impl LocationLabeler for Fixed {
        fn label(&self, loc: u32) -> Option<String> {
            (loc == 14).then(|| "racy::bump at src/main.rs:14:9".to_owned())
        }
    }

    #[test]
    fn text_with_metadata_names_and_labeler() {
        let mut meta = Metadata::default();
        meta.locations.insert(
            13,
            LocationInfo {
                function: 31,
                offset: 0x1092,
            },
        );
        let names = Names {
            threads: vec!["main".into(), "w1".into()],
            ..Names::default()
        };
        let ctx = RenderContext {
            names: Some(&names),
            metadata: Some(&meta),
            labeler: Some(&Fixed),
        };
        let mut out = Vec::new();
        write_text(&report(), &ctx, &mut out).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.contains("write by thread 2 at racy::bump at src/main.rs:14:9 (event 7)"),
            "{s}"
        );
        assert!(s.contains("races with earlier read by thread 1 (w1) at location 13 (function 31, offset 0x1092)"), "{s}");
        assert!(s.ends_with("racy events: 2\nracy locations: 1\n"), "{s}");
    }

    #[test]
    fn json_document() {
        let mut out = Vec::new();
        write_json(&report(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["racy_events"], 2);
        assert_eq!(v["races"][0]["second"]["location"], 14);
        assert_eq!(v["races"][0]["first"]["op"], "r");
    }
}
