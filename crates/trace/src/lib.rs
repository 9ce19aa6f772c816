//! wasmgrind trace: the event model and the trace formats it is stored in.
//!
//! - [`event`]: what one trace event is ([`Event`], [`Op`]).
//! - [`rapidbin`]: RAPID's binary format (streaming reader and writer).
//! - [`std_text`]: RAPID's `STD` text format (fast reader with name tables, writer).
//! - [`timeline`]: Chrome/Perfetto trace-event JSON export.
//! - [`metadata`]: the JSON side file mapping ids back to addresses, code offsets, names.
//! - [`convert`]: converting a trace file between formats.
//! - [`format`](mod@format): detecting a trace's format and opening any trace as one event stream.

pub mod convert;
pub mod error;
pub mod event;
pub mod format;
pub mod metadata;
pub mod names;
pub mod rapidbin;
pub mod std_text;
pub mod timeline;

pub use error::TraceError;
pub use event::{Event, Op};
pub use format::{open_trace, EventReader, Format};
pub use metadata::Metadata;
pub use names::Names;
