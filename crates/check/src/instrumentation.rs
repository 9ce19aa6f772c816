//! The module `check` runs: instrumented with the in-module repeat filter
//! ([`wasmgrind_instrument::Options::filter_repeats`]) and a per-site policy from the
//! checker's own classification, so same-epoch repeats and the allocator's bookkeeping
//! never leave wasm and C library synchronization is always logged.
//!
//! The policy needs the sites, which exist only after instrumenting; site numbering is
//! deterministic for the same input and options (the policy does not change it), so the
//! module is instrumented twice: once to learn the sites, once with their policy.

use wasmgrind_instrument::{InstrumentError, Instrumented, Options};
use wasmgrind_report::Symbolizer;
use wasmgrind_runtime::CodeMap;

use crate::site_classes::SiteClasses;

/// The instrumented module and what its sites mean.
#[derive(Debug)]
pub struct CheckModule {
    /// The module to run.
    pub instrumented: Instrumented,
    /// Per site of `instrumented`: its classes (for [`crate::CheckSession::new`]).
    pub classes: SiteClasses,
}

/// Why the module could not be instrumented for `check`.
#[derive(Debug, thiserror::Error)]
pub enum CheckInstrumentError {
    /// The instrumentation pass failed.
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    /// The second pass numbered the sites differently from the first (a bug: the policy
    /// would then describe other sites).
    #[error("internal error: instrumenting with a site policy changed the sites")]
    SitesChanged,
}

/// Instruments `prepared` (the module as run) for `check`; `symbolizer` reads the module
/// the user gave and `code_map` maps `prepared`'s offsets back to it.
pub fn instrument(
    prepared: &[u8],
    symbolizer: &Symbolizer,
    code_map: &CodeMap,
) -> Result<CheckModule, CheckInstrumentError> {
    let options = Options {
        filter_repeats: true,
        ..Options::default()
    };
    let first = wasmgrind_instrument::instrument(prepared, &options)?;
    let classes = SiteClasses::new(&first.sites, symbolizer, code_map);
    let options = Options {
        plain_policy: classes.plain_policy(),
        ..options
    };
    let instrumented = wasmgrind_instrument::instrument(prepared, &options)?;
    if instrumented.sites != first.sites {
        return Err(CheckInstrumentError::SitesChanged);
    }
    Ok(CheckModule {
        instrumented,
        classes,
    })
}
