//! wasmgrind's benchmarks: `wasmgrind run` against a plain wasmtime embedding with the
//! same engine settings (issue 2), and `wasmgrind check` against `wasmgrind run` on
//! multithreaded workloads (issue 3). Everything here prints numbers; nothing asserts
//! a speed.

pub mod compile_cache;
pub mod error;
pub mod measure;
pub mod stats;
pub mod suites;
pub mod table;
pub mod tools;
pub mod workloads;

pub use error::BenchError;
