//! What several guests share: wasi-libc's pthread types and functions as C programs
//! see them (each guest stays one scenario in one file under `src/bin`).

pub mod pthread;
