//! What several guests share: wasi-libc's pthread types and functions as C programs
//! see them, and a model of crossbeam-channel's select context (each guest stays one
//! scenario in one file under `src/bin`).

pub mod pthread;
pub mod select;
