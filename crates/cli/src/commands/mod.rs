//! One module per `wasmgrind` subcommand: each parses its own flags (`Args`) and
//! calls into the library crates; no analysis logic lives here.

pub mod analyze;
pub mod check;
pub mod convert;
pub mod exec;
pub mod instrument;
pub mod run;
pub mod threadify;
pub mod trace;
