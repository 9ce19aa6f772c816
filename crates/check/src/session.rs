//! One checked program: the detector, the sites, the stack depot and the reporter
//! every thread shares; it is the runtime's [`Monitor`].

use std::sync::Arc;

use wasmgrind_analysis::online::{Config, Detector};
use wasmgrind_instrument::Site;
use wasmgrind_runtime::{Monitor, ThreadId, ThreadMonitor};

use crate::lock_clocks::HbRole;
use crate::lock_tracker::LockTracker;
use crate::locks::LockRole;
use crate::reporter::Reporter;
pub(crate) use crate::site_classes::RecordClass;
use crate::site_classes::SiteClasses;
use crate::stacks::StackDepot;
use crate::thread::CheckThread;

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
    /// `sites` are the instrumentation's sites of the module being run, `classes` what
    /// they mean ([`SiteClasses::new`] over the same sites).
    pub fn new(sites: Arc<[Site]>, classes: SiteClasses, reporter: Arc<Reporter>) -> Arc<Self> {
        let SiteClasses {
            records,
            lock_roles,
            hb_roles,
        } = classes;
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
