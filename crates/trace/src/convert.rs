//! Converting a trace file between formats, streaming, with its metadata side file.

use std::path::Path;

use crate::error::Result;
use crate::event::Event;
use crate::format::{open_trace, Format};
use crate::metadata::Metadata;
use crate::rapidbin::RapidBinWriter;
use crate::std_text::StdWriter;
use crate::timeline::TimelineWriter;

/// Loads `<trace>.meta.json` when it exists.
pub fn sidecar_metadata(trace: &Path) -> Result<Option<Metadata>> {
    let path = Metadata::path_for(trace);
    if path.exists() {
        Metadata::load(&path).map(Some)
    } else {
        Ok(None)
    }
}

/// Converts `input` (RapidBin or STD, by content) to `output` in format `to`; returns
/// the number of events. Names come from the STD input itself or from the input's
/// `<input>.meta.json`; a RapidBin output gets an `<output>.meta.json` carrying them
/// (and the input's metadata) so nothing is lost, and an STD output one carrying the
/// input's variables and locations when it has them. `races` (pairs of event indices,
/// earlier first) become flow arrows in a timeline and are ignored otherwise.
pub fn convert(input: &Path, output: &Path, to: Format, races: &[(u64, u64)]) -> Result<u64> {
    let mut meta = sidecar_metadata(input)?.unwrap_or_default();
    let mut reader = open_trace(input)?;
    let mut events = 0u64;
    // The STD reader's names grow as it reads; each event is written with the names
    // known once it was read, which always include its own ids.
    let mut next = |reader: &mut crate::format::EventReader| -> Option<Result<Event>> {
        let e = reader.next()?;
        events += 1;
        Some(e)
    };
    match to {
        Format::RapidBin => {
            let mut w = RapidBinWriter::create(output)?;
            while let Some(e) = next(&mut reader) {
                w.write(&e?)?;
            }
            w.finish()?;
            if let Some(names) = reader.into_names() {
                meta.names = names;
            }
            if !meta.is_empty() {
                meta.save(&Metadata::path_for(output))?;
            }
        }
        Format::Std => {
            let mut w = StdWriter::create(output, Default::default())?;
            while let Some(e) = next(&mut reader) {
                let e = e?;
                w.write_named(&e, reader.names().unwrap_or(&meta.names))?;
            }
            w.finish()?;
            // Variables unnamed in the input are written `V<id>` with the input's ids,
            // so the input's metadata (addresses and sizes, for the byte-precise
            // analysis; code locations) still applies to the output.
            if !meta.variables.is_empty() || !meta.locations.is_empty() {
                meta.save(&Metadata::path_for(output))?;
            }
        }
        Format::Timeline => {
            let mut w = TimelineWriter::create(output, Default::default(), races)?;
            while let Some(e) = next(&mut reader) {
                let e = e?;
                w.write_named(&e, reader.names().unwrap_or(&meta.names))?;
            }
            w.finish()?;
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_to_rapidbin_keeps_names_in_sidecar_and_back() {
        let dir = tempfile::tempdir().unwrap();
        let std_in = dir.path().join("in.std");
        let text =
            "main|fork(w1)|1\nw1|acq(mu)|2\nw1|w(V7.x[0])|here\nw1|rel(mu)|4\nmain|join(w1)|5\n";
        std::fs::write(&std_in, text).unwrap();
        let bin = dir.path().join("out.rapidbin");
        assert_eq!(convert(&std_in, &bin, Format::RapidBin, &[]).unwrap(), 5);
        let meta = Metadata::load(&Metadata::path_for(&bin)).unwrap();
        assert_eq!(meta.names.threads, vec!["main", "w1"]);
        let std_out = dir.path().join("back.std");
        convert(&bin, &std_out, Format::Std, &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&std_out).unwrap(), text);
        let json = dir.path().join("t.json");
        convert(&bin, &json, Format::Timeline, &[]).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let names: Vec<&str> = v["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "M")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["main", "w1"]);
    }

    #[test]
    fn rapidbin_limits_surface_as_errors() {
        let dir = tempfile::tempdir().unwrap();
        let std_in = dir.path().join("in.std");
        std::fs::write(&std_in, "T0|w(V1)|40000\n").unwrap();
        let err = convert(&std_in, &dir.path().join("o.bin"), Format::RapidBin, &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("location id 40000"), "{err}");
    }
}
