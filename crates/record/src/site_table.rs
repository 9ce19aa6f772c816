//! What the recorder needs to know about each instrumentation site, computed once
//! before the run: where it is in the user's module, and whether it is inside the
//! C library's synchronization code.

use std::sync::Arc;

use rustc_hash::FxHashSet;
use wasmgrind_check::libc_sync::LibcClassifier;
use wasmgrind_check::locks::{role_of, LockRole};
use wasmgrind_instrument::{Site, SiteKind};
use wasmgrind_report::Symbolizer;
use wasmgrind_runtime::CodeMap;
use wasmgrind_trace::metadata::LocationInfo;

/// Per-site facts the event mapping reads on its hot path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteInfo {
    /// A plain access made inside the C library's synchronization code
    /// (`wasmgrind_check::libc_sync`), or the plain load of an atomic operation the
    /// compiler expanded (`fetch_max`): recorded like an atomic, as `check` treats it.
    pub libc_sync: bool,
    /// A plain access of the allocator's own bookkeeping: not recorded, as `check`
    /// ignores it.
    pub allocator: bool,
    /// The site is the C library's code (DWARF, or its synchronization and allocator
    /// functions by name): its plain reads may be peeks at lock words, its atomics
    /// the synchronization that settles them ([`crate::peeks`]).
    pub c_library: bool,
    /// What lock inference makes of an atomic here, by the names of its code
    /// ([`wasmgrind_check::locks::role_of`]; the generic rule without names).
    pub lock_role: LockRole,
    /// Function index and ORIGINAL code offset, `None` for code the user did not
    /// write (added by threadify).
    pub location: Option<LocationInfo>,
}

/// The instrumentation's sites with their [`SiteInfo`], indexed by site number.
#[derive(Debug, Clone)]
pub struct SiteTable {
    sites: Arc<[Site]>,
    info: Vec<SiteInfo>,
}

impl SiteTable {
    /// Classifies `sites` (of the prepared module) through `code_map` and, when the
    /// user's module could be read, its `symbolizer` (function indices of the original
    /// module, DWARF, names).
    pub fn new(sites: Arc<[Site]>, code_map: &CodeMap, symbolizer: Option<&Symbolizer>) -> Self {
        // Classified as `wasmgrind check` does.
        let mut classifier = symbolizer.map(LibcClassifier::new);
        // An expanded atomic's plain load sits in the function of its cmpxchg loop, so
        // only reads of functions with atomics need symbolizing for it.
        let with_atomics: FxHashSet<u32> = sites
            .iter()
            .filter(|site| matches!(site.kind, SiteKind::Atomic { .. }))
            .map(|site| site.func)
            .collect();
        let info = sites
            .iter()
            .map(|site| {
                let original = code_map.prepared_to_original(site.offset);
                let location = original.map(|offset| LocationInfo {
                    function: symbolizer
                        .and_then(|s| s.function_of(offset))
                        .unwrap_or(site.func),
                    offset: offset.into(),
                });
                let buffered_access =
                    matches!(site.kind, SiteKind::Read { .. } | SiteKind::Write { .. });
                let class = match (original, classifier.as_mut()) {
                    (Some(offset), Some(c)) if buffered_access => c.classify(offset, true),
                    _ => Default::default(),
                };
                let c_library = match (original, classifier.as_mut()) {
                    (Some(offset), Some(c)) => c.function_class(offset).c_library,
                    _ => false,
                };
                let atomic_expansion = matches!(site.kind, SiteKind::Read { .. })
                    && with_atomics.contains(&site.func)
                    && match (original, classifier.as_ref()) {
                        (Some(offset), Some(c)) => c.is_atomic_expansion(offset),
                        _ => false,
                    };
                let lock_role = match (site.kind, original, symbolizer) {
                    (SiteKind::Atomic { .. }, Some(offset), Some(symbolizer)) => {
                        let names = symbolizer.function_names(offset);
                        let names: Vec<&str> = names.iter().map(String::as_str).collect();
                        role_of(&names, c_library)
                    }
                    _ => LockRole::Generic,
                };
                SiteInfo {
                    libc_sync: class.sync || atomic_expansion,
                    allocator: class.allocator,
                    c_library,
                    lock_role,
                    location,
                }
            })
            .collect();
        SiteTable { sites, info }
    }

    /// A table with the given per-site facts (`info.len()` must equal `sites.len()`;
    /// missing entries read as the default).
    pub fn from_parts(sites: Arc<[Site]>, mut info: Vec<SiteInfo>) -> Self {
        info.resize(sites.len(), SiteInfo::default());
        SiteTable { sites, info }
    }

    /// The kind of site `site`, `None` for an index the instrumentation never made.
    #[inline]
    pub fn kind(&self, site: u32) -> Option<SiteKind> {
        self.sites.get(site as usize).map(|s| s.kind)
    }

    /// The facts about site `site` (default for an unknown index).
    #[inline]
    pub fn info(&self, site: u32) -> SiteInfo {
        self.info.get(site as usize).copied().unwrap_or_default()
    }

    /// Number of sites.
    pub fn len(&self) -> usize {
        self.sites.len()
    }

    /// True for a module without instrumented instructions.
    pub fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}
