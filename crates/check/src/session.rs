//! One checked program: the detector, the sites, the stack depot and the reporter
//! every thread shares; it is the runtime's [`Monitor`].

use std::sync::Arc;

use rustc_hash::FxHashMap;

use wasmgrind_analysis::online::{Config, Detector};
use wasmgrind_instrument::Site;
use wasmgrind_runtime::{Monitor, ThreadId, ThreadMonitor};

use crate::libc_sync::is_libc_sync_function;
use crate::reporter::Reporter;
use crate::stacks::StackDepot;
use crate::thread::CheckThread;

/// What every thread's [`CheckThread`] shares.
pub struct CheckSession {
    pub(crate) detector: Detector,
    pub(crate) sites: Arc<[Site]>,
    /// Per site: a plain access inside the C library's synchronization code, handled
    /// as an atomic (see [`crate::libc_sync`]).
    pub(crate) libc_sync: Vec<bool>,
    pub(crate) stacks: StackDepot,
    pub(crate) reporter: Arc<Reporter>,
}

impl CheckSession {
    /// `sites` are the instrumentation's sites of the module being run.
    pub fn new(sites: Arc<[Site]>, reporter: Arc<Reporter>) -> Arc<Self> {
        // Classified per function, once: by DWARF where it says the function is the
        // C library's, else by name.
        let mut by_function: FxHashMap<u32, bool> = FxHashMap::default();
        let libc_sync = sites
            .iter()
            .map(|site| {
                *by_function.entry(site.func).or_insert_with(|| {
                    reporter.is_c_library(site.offset)
                        || reporter
                            .function_name(site.func)
                            .is_some_and(is_libc_sync_function)
                })
            })
            .collect();
        Arc::new(CheckSession {
            detector: Detector::new(Config::default()),
            libc_sync,
            sites,
            stacks: StackDepot::default(),
            reporter,
        })
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
