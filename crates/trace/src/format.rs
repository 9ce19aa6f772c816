//! Recognizing a trace's format and opening any readable trace as one event stream.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Result, TraceError};
use crate::event::Event;
use crate::names::Names;
use crate::rapidbin::RapidBinReader;
use crate::std_text::StdReader;

/// A trace file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RAPID's binary format ([`crate::rapidbin`]).
    RapidBin,
    /// RAPID's text format ([`crate::std_text`]).
    Std,
    /// Chrome/Perfetto JSON ([`crate::timeline`]); write-only.
    Timeline,
}

impl Format {
    /// The format conventionally meant by a path's extension: `.rapidbin`/`.bin` →
    /// RapidBin, `.std`/`.txt` → STD, `.json` → timeline.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "rapidbin" | "bin" => Some(Format::RapidBin),
            "std" | "txt" => Some(Format::Std),
            "json" => Some(Format::Timeline),
            _ => None,
        }
    }

    /// The format of a trace whose first bytes are `prefix`.
    ///
    /// A RapidBin header starts with the big-endian thread count (< 1024), so its first
    /// byte is 0–4, never text; JSON starts with `{` or `[`; anything else is STD text.
    pub fn from_content(prefix: &[u8]) -> Format {
        if prefix.first().is_some_and(|&b| b < 0x09) {
            return Format::RapidBin;
        }
        match prefix.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => Format::Timeline,
            _ => Format::Std,
        }
    }

    /// The format of the file at `path`, judged by its content.
    pub fn detect(path: &Path) -> Result<Format> {
        let mut f = File::open(path)
            .map_err(|e| TraceError::io(format!("opening {}", path.display()), e))?;
        let mut prefix = [0u8; 64];
        let mut n = 0;
        while n < prefix.len() {
            match f.read(&mut prefix[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(TraceError::io(format!("reading {}", path.display()), e)),
            }
        }
        Ok(Format::from_content(&prefix[..n]))
    }

    /// Lower-case name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::RapidBin => "rapidbin",
            Format::Std => "std",
            Format::Timeline => "timeline",
        }
    }
}

/// A readable trace of either format, as one iterator of events.
pub enum EventReader {
    /// A RapidBin trace.
    RapidBin(RapidBinReader<File>),
    /// An STD text trace (boxed: its name tables make it much larger than the other).
    Std(Box<StdReader<File>>),
}

impl EventReader {
    /// The input's format.
    pub fn format(&self) -> Format {
        match self {
            EventReader::RapidBin(_) => Format::RapidBin,
            EventReader::Std(_) => Format::Std,
        }
    }

    /// Names read from the trace itself (STD only; complete once exhausted).
    pub fn names(&self) -> Option<&Names> {
        match self {
            EventReader::RapidBin(_) => None,
            EventReader::Std(r) => Some(r.names()),
        }
    }

    /// Consumes the reader, returning the names read from the trace itself (STD only).
    pub fn into_names(self) -> Option<Names> {
        match self {
            EventReader::RapidBin(_) => None,
            EventReader::Std(r) => Some(r.into_names()),
        }
    }
}

impl Iterator for EventReader {
    type Item = Result<Event>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            EventReader::RapidBin(r) => r.next(),
            EventReader::Std(r) => r.next(),
        }
    }
}

/// Opens a RapidBin or STD trace, recognizing the format by content.
pub fn open_trace(path: &Path) -> Result<EventReader> {
    match Format::detect(path)? {
        Format::RapidBin => Ok(EventReader::RapidBin(RapidBinReader::open(path)?)),
        Format::Std => Ok(EventReader::Std(Box::new(StdReader::open(path)?))),
        Format::Timeline => Err(TraceError::UnknownFormat(format!(
            "{} looks like timeline JSON, which cannot be read back as a trace",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Op;
    use crate::rapidbin::RapidBinWriter;

    #[test]
    fn extensions() {
        let f = |p: &str| Format::from_extension(Path::new(p));
        assert_eq!(f("a.rapidbin"), Some(Format::RapidBin));
        assert_eq!(f("a.BIN"), Some(Format::RapidBin));
        assert_eq!(f("a.std"), Some(Format::Std));
        assert_eq!(f("a.txt"), Some(Format::Std));
        assert_eq!(f("a.json"), Some(Format::Timeline));
        assert_eq!(f("a.trace"), None);
        assert_eq!(f("a"), None);
    }

    #[test]
    fn content_detection_and_open() {
        let dir = tempfile::tempdir().unwrap();
        // Misleading extensions on purpose: content decides.
        let bin = dir.path().join("trace.txt");
        let mut w = RapidBinWriter::create(&bin).unwrap();
        w.write(&Event::new(0, Op::Write, 3, 1)).unwrap();
        w.finish().unwrap();
        let std = dir.path().join("trace.bin");
        std::fs::write(&std, "T0|w(V3)|1\n").unwrap();
        let json = dir.path().join("t.x");
        std::fs::write(&json, " {\"traceEvents\":[]}").unwrap();
        assert_eq!(Format::detect(&bin).unwrap(), Format::RapidBin);
        assert_eq!(Format::detect(&std).unwrap(), Format::Std);
        assert_eq!(Format::detect(&json).unwrap(), Format::Timeline);
        let a: Vec<_> = open_trace(&bin).unwrap().collect::<Result<_>>().unwrap();
        let r = open_trace(&std).unwrap();
        assert_eq!(r.format(), Format::Std);
        let b: Vec<_> = r.collect::<Result<_>>().unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].op, b[0].op);
        assert!(open_trace(&json).is_err());
        assert!(open_trace(&dir.path().join("missing")).is_err());
        assert_eq!(Format::from_content(b""), Format::Std);
    }
}
