//! What each instrumentation site means to the checker, decided once per module: how a
//! drained record of it is handled, what lock inference and the lock-free happens-before
//! make of it, and so which plain accesses the instrumented code may filter or skip.

use wasmgrind_instrument::{PlainPolicy, Site, SiteKind};
use wasmgrind_report::Symbolizer;
use wasmgrind_runtime::CodeMap;

use crate::libc_sync::LibcClassifier;
use crate::lock_clocks::{hb_role, HbRole};
use crate::locks::{role_of, LockRole};

/// What a drained record of a site means, decided once per site so the hot loop over
/// records reads one small entry (see [`crate::libc_sync`] for the plain-access rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordClass {
    /// A plain load or store, checked as such (the program's code, most of the C
    /// library).
    Check { size: u8, write: bool },
    /// A plain access of the C library's synchronization code: handled as an atomic.
    AsAtomic { size: u8, write: bool },
    /// A call is entered (call-stack record).
    Enter,
    /// A call returned (call-stack record).
    Exit,
    /// Not looked at (the allocator's own bookkeeping, or not a record site).
    Ignore,
}

impl RecordClass {
    /// How the instrumented code treats a plain site of this class: checked accesses are
    /// filtered (a same-epoch repeat cannot change the verdict), accesses handled as
    /// atomics are always logged (each one synchronizes), ignored ones never are.
    pub fn plain_policy(self) -> PlainPolicy {
        match self {
            RecordClass::Check { .. } => PlainPolicy::Filter,
            RecordClass::Ignore => PlainPolicy::Skip,
            RecordClass::AsAtomic { .. } | RecordClass::Enter | RecordClass::Exit => {
                PlainPolicy::Always
            }
        }
    }
}

/// Per site of one instrumented module: its record class, lock role and happens-before role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteClasses {
    /// Per site: what a drained record of it means.
    pub records: Vec<RecordClass>,
    /// Per site: what lock inference makes of an atomic there ([`crate::locks`]).
    pub lock_roles: Vec<LockRole>,
    /// Per site: what its synchronization does in the lock-free happens-before.
    pub hb_roles: Vec<HbRole>,
}

impl SiteClasses {
    /// Classifies `sites` (of the prepared module `code_map` maps back to the module the
    /// user gave, which `symbolizer` reads), symbolizing each site at most once: its inline
    /// function names serve both the C library classification and the lock roles.
    pub fn new(sites: &[Site], symbolizer: &Symbolizer, code_map: &CodeMap) -> Self {
        let mut classifier = LibcClassifier::new(symbolizer);
        let mut classes = SiteClasses {
            records: Vec::with_capacity(sites.len()),
            lock_roles: Vec::with_capacity(sites.len()),
            hb_roles: Vec::with_capacity(sites.len()),
        };
        for site in sites {
            let access = match site.kind {
                SiteKind::Read { size } => Some((size, false)),
                SiteKind::Write { size } => Some((size, true)),
                _ => None,
            };
            let plain = access.is_some();
            let original = code_map.prepared_to_original(site.offset);
            let function = original
                .map(|offset| classifier.function_class(offset))
                .unwrap_or_default();
            // Lock roles look at every atomic and at plain accesses of the C library.
            let names: Vec<String> = match original {
                Some(offset) if !plain || function.c_library => symbolizer.function_names(offset),
                _ => Vec::new(),
            };
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let class = function.site(plain, &names);
            classes.records.push(match (site.kind, access) {
                (SiteKind::CallEnter, _) => RecordClass::Enter,
                (SiteKind::CallExit, _) => RecordClass::Exit,
                (_, Some(_)) if class.allocator => RecordClass::Ignore,
                (_, Some((size, write))) if class.sync => RecordClass::AsAtomic { size, write },
                (_, Some((size, write))) => RecordClass::Check { size, write },
                _ => RecordClass::Ignore,
            });
            let (lock, hb) = if plain && !class.c_library {
                (LockRole::Generic, HbRole::Sync)
            } else {
                (
                    role_of(&names, class.c_library),
                    hb_role(&names, class.c_library),
                )
            };
            classes.lock_roles.push(lock);
            classes.hb_roles.push(hb);
        }
        classes
    }

    /// The instrumentation's [`PlainPolicy`] per site (see [`RecordClass::plain_policy`]).
    pub fn plain_policy(&self) -> Vec<PlainPolicy> {
        self.records
            .iter()
            .map(|class| class.plain_policy())
            .collect()
    }
}
