//! The runtime's [`Monitor`] of a recorded run: one [`RecordThread`] per thread, all
//! writing through the same [`Recorder`].

use std::sync::Arc;

use wasmgrind_runtime::{Monitor, ThreadId, ThreadMonitor};

use crate::recorder::Recorder;
use crate::thread::RecordThread;

/// Gives every thread of the program a [`RecordThread`] on the shared recorder.
pub struct RecordMonitor(pub Arc<Recorder>);

impl Monitor for RecordMonitor {
    fn thread(&self, tid: ThreadId) -> Box<dyn ThreadMonitor> {
        Box::new(RecordThread::new(tid, self.0.clone()))
    }
}
