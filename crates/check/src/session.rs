//! One checked program: the detector, the sites, the stack depot and the reporter
//! every thread shares; it is the runtime's [`Monitor`].

use std::sync::Arc;

use wasmgrind_analysis::online::{Config, Detector};
use wasmgrind_instrument::{Site, SiteKind};
use wasmgrind_runtime::{Monitor, ThreadId, ThreadMonitor};

use crate::libc_sync::LibcClassifier;
use crate::lock_clocks::{hb_role, HbRole};
use crate::lock_tracker::LockTracker;
use crate::locks::{role_of, LockRole};
use crate::reporter::Reporter;
use crate::stacks::StackDepot;
use crate::thread::CheckThread;

/// What a drained record of a site means, decided once per site so the hot loop over
/// records reads one small entry (see [`crate::libc_sync`] for the plain-access rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordClass {
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

/// What every thread's [`CheckThread`] shares.
pub struct CheckSession {
    pub(crate) detector: Detector,
    pub(crate) sites: Arc<[Site]>,
    /// Per site: what a drained record of it means.
    pub(crate) records: Vec<RecordClass>,
    pub(crate) stacks: Arc<StackDepot>,
    pub(crate) reporter: Arc<Reporter>,
    /// Per site: what lock inference makes of an atomic there ([`crate::locks`]).
    pub(crate) lock_roles: Vec<LockRole>,
    /// Per site: what its synchronization does in the lock-free happens-before.
    pub(crate) hb_roles: Vec<HbRole>,
    /// Locks held, lock order, lock misuse.
    pub(crate) locks: Arc<LockTracker>,
}

impl CheckSession {
    /// `sites` are the instrumentation's sites of the module being run.
    pub fn new(sites: Arc<[Site]>, reporter: Arc<Reporter>) -> Arc<Self> {
        // One pass, symbolizing a site at most once: its inline function names serve
        // both the C library classification and the lock roles.
        let mut classifier = LibcClassifier::new(reporter.symbolizer());
        let mut records = Vec::with_capacity(sites.len());
        let mut lock_roles = Vec::with_capacity(sites.len());
        let mut hb_roles = Vec::with_capacity(sites.len());
        for site in sites.iter() {
            let access = match site.kind {
                SiteKind::Read { size } => Some((size, false)),
                SiteKind::Write { size } => Some((size, true)),
                _ => None,
            };
            let plain = access.is_some();
            let function = reporter
                .original_offset(site.offset)
                .map(|offset| classifier.function_class(offset))
                .unwrap_or_default();
            // Lock roles look at every atomic and at plain accesses of the C library.
            let names = if !plain || function.c_library {
                reporter.function_names_at(site.offset)
            } else {
                Vec::new()
            };
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let class = function.site(plain, &names);
            records.push(match (site.kind, access) {
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
            lock_roles.push(lock);
            hb_roles.push(hb);
        }
        let session = Arc::new(CheckSession {
            detector: Detector::new(Config::default()),
            records,
            sites,
            stacks: Arc::default(),
            reporter,
            lock_roles,
            hb_roles,
            locks: Arc::default(),
        });
        // Lock findings are complete only at the end: the reporter asks for them
        // when the run finishes, which may be after every thread (and so the
        // session) is gone; the closure keeps what it needs, not the session.
        let (locks, stacks, sites) = (
            session.locks.clone(),
            session.stacks.clone(),
            session.sites.clone(),
        );
        session
            .reporter
            .set_before_finish(Box::new(move |reporter: &Reporter| {
                reporter.report_locks(&locks.findings(), &stacks, &sites);
            }));
        session
    }

    /// Reports the races the detector found since the last call.
    pub(crate) fn report_new_races(&self) {
        let races = self.detector.take_races();
        if !races.is_empty() {
            self.reporter
                .report_races(&races, &self.stacks, &self.sites);
        }
    }
}

/// The runtime asks for a monitor per thread; each gets the shared session.
pub struct SessionMonitor(pub Arc<CheckSession>);

impl Monitor for SessionMonitor {
    fn thread(&self, tid: ThreadId) -> Box<dyn ThreadMonitor> {
        Box::new(CheckThread::new(tid, self.0.clone()))
    }
}
