//! wasmgrind report: symbolization and the output formats of findings.
//!
//! - [`Symbolizer`] maps module-relative code offsets (of the module as the user gave
//!   it) to [`Frame`]s using DWARF (with inlined frames) and the `name` section, and
//!   data addresses to [`GlobalSymbol`]s; [`Symbolizer::describe`] classifies an
//!   address as a global, a thread's stack or the heap using the [`DataLayout`].
//! - [`Finding`] is the model of what wasmgrind reports; [`Deduplicator`] keeps one
//!   report per distinct pair of code locations and [`Suppressions`] hides findings
//!   the user asked to ignore.
//! - Output goes to any [`std::io::Write`] the caller passes: [`TextRenderer`] (the
//!   terminal report), [`write_json_line`] (JSON Lines), [`write_sarif`] (SARIF
//!   2.1.0), and [`Tally`] for the final count line.
//!
//! # JSON Lines format
//!
//! `--format json` writes one object per finding per line. The field names are
//! stable; incompatible changes bump `format_version`.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `kind` | string | finding kind: `data_race`, `lock_order_inversion`, `lock_misuse` |
//! | `format_version` | number | layout version, currently `1` |
//! | `summary` | string | one-liner, e.g. `data race src/main.rs:14:9 in racy::bump` |
//! | `current` | access | (`data_race`) the later access, which revealed the race |
//! | `previous` | access | (`data_race`) the earlier conflicting access |
//! | `location` | location or null | (`data_race`) what the raced-on memory is |
//! | `cycle` | array of edges | (`lock_order_inversion`) the lock-order cycle, in order |
//! | `misuse` | string | (`lock_misuse`) `unlock_not_held`, `unlock_by_other_thread`, `exit_while_holding` or `recursive_lock` |
//! | `lock` | number | (`lock_misuse`) address of the lock word |
//! | `thread` | number | (`lock_misuse`) the thread that misused the lock |
//! | `stack` | array of frames | (`lock_misuse`) the unlock, the re-lock, or (exit) where the lock was acquired |
//! | `holder` | number or null | (`lock_misuse`) the thread holding the lock then |
//! | `acquired_stack` | array of frames | (`lock_misuse`) where the holder acquired it (empty if none) |
//!
//! An *access* is `{kind, size, addr, thread, stack}`: `kind` is `read`, `write`,
//! `atomic_read` or `atomic_write`; `size` in bytes; `addr` the linear-memory address
//! (a number); `thread` the wasmgrind thread id; `stack` an array of frames,
//! innermost first.
//!
//! An *edge* (of a `cycle`) is `{thread, held, acquired, held_stack, acquired_stack}`:
//! thread `thread` acquired the lock at address `acquired` while holding the lock at
//! address `held`; the stacks (frames, innermost first) are where each was acquired.
//! Each edge's `acquired` is the next edge's `held`, the last edge's the first's.
//! Where a lock is a reader-writer lock, `held_mode` / `acquired_mode` say how it was
//! held / asked for, `"read"` or `"write"` (absent for a mutex).
//!
//! A *frame* is `{func_index, function, file, line, column, code_offset,
//! function_offset}`, every field a value or `null`: the wasm function index, the
//! demangled function name, the source file as DWARF records it (usually absolute),
//! 1-based line and column, the module-relative code offset, and that offset relative
//! to the function body's start.
//!
//! A *location* is `{"type": "global", "name", "addr", "size"}`, `{"type": "heap"}`,
//! `{"type": "stack", "thread"}` or `{"type": "unknown"}`.

mod data_layout;
mod dedup;
mod demangle;
mod dwarf;
mod error;
mod finding;
mod frame;
mod glob;
mod globals;
mod hang;
mod json;
mod lock_misuse;
mod lock_order;
mod module_info;
mod qualify;
mod sarif;
mod source_path;
mod suppress;
mod symbolizer;
mod tally;
mod text;
mod trap;

pub use data_layout::DataLayout;
pub use dedup::Deduplicator;
pub use demangle::demangle;
pub use error::ReportError;
pub use finding::{Access, AccessKind, AddressDescription, Finding, Race};
pub use frame::Frame;
pub use glob::Glob;
pub use globals::GlobalSymbol;
pub use hang::{Hang, HangKind, HungThread, ThreadState};
pub use json::{to_json_value, write_json_line, JSON_FORMAT_VERSION};
pub use lock_misuse::{LockMisuse, MisuseKind};
pub use lock_order::{LockOrderEdge, LockOrderInversion, RwMode};
pub use sarif::{sarif_log, write_sarif};
pub use source_path::display_path;
pub use suppress::{Suppression, SuppressionKind, Suppressions};
pub use symbolizer::Symbolizer;
pub use tally::Tally;
pub use text::{TextRenderer, FENCE};
pub use trap::{symbolize_trap, write_trap, RawTrapFrame};
