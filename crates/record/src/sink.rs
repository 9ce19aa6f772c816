//! The trace file being written: RapidBin or STD text behind one interface.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use wasmgrind_trace::rapidbin::RapidBinWriter;
use wasmgrind_trace::std_text::StdWriter;
use wasmgrind_trace::{Event, Format, Names, TraceError};

use crate::error::RecordError;

/// A streaming trace writer; both formats buffer a bounded amount (64 KiB for
/// RapidBin, the `BufWriter`'s buffer for STD), so memory does not grow with the trace.
pub struct TraceSink {
    path: PathBuf,
    writer: Writer,
}

enum Writer {
    RapidBin(RapidBinWriter<BufWriter<File>>),
    Std(StdWriter<File>),
}

impl TraceSink {
    /// Creates (truncates) the trace at `path` in `format` (RapidBin or STD).
    pub fn create(path: &Path, format: Format) -> Result<Self, RecordError> {
        let err = |source| RecordError::Trace {
            path: path.to_owned(),
            source,
        };
        let writer = match format {
            Format::RapidBin => Writer::RapidBin(RapidBinWriter::create(path).map_err(err)?),
            Format::Std => Writer::Std(StdWriter::create(path, Names::default()).map_err(err)?),
            Format::Timeline => {
                return Err(err(TraceError::UnknownFormat(
                    "traces are recorded as rapidbin or std; convert them to a timeline \
                     with `wasmgrind convert`"
                        .to_owned(),
                )))
            }
        };
        Ok(TraceSink {
            path: path.to_owned(),
            writer,
        })
    }

    /// The trace file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: TraceError) -> RecordError {
        RecordError::Trace {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends one event; a RapidBin limit exceeded fails without writing it.
    #[inline]
    pub fn write(&mut self, e: &Event) -> Result<(), RecordError> {
        let r = match &mut self.writer {
            Writer::RapidBin(w) => w.write(e),
            Writer::Std(w) => w.write(e),
        };
        r.map_err(|source| self.err(source))
    }

    /// Makes the file on disk a complete trace of everything written so far.
    pub fn flush(&mut self) -> Result<(), RecordError> {
        let r = match &mut self.writer {
            Writer::RapidBin(w) => w.flush(),
            Writer::Std(w) => w.flush(),
        };
        r.map_err(|source| self.err(source))
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<(), RecordError> {
        let path = self.path;
        let r = match self.writer {
            Writer::RapidBin(w) => w.finish().map(drop),
            Writer::Std(w) => w.finish().map(drop),
        };
        r.map_err(|source| RecordError::Trace { path, source })
    }
}
