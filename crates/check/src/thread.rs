//! One thread's event handling: decoding drained records into detector accesses and
//! mapping synchronization hooks onto happens-before operations (DESIGN.md,
//! "Semantics every part agrees on").

use std::sync::Arc;

use wasmgrind_analysis::online::{Access, SyncId, ThreadHandle};
use wasmgrind_instrument::{AtomicOp, BulkOp, SiteKind, RECORD_SIZE};
use wasmgrind_runtime::{LockHook, ThreadId, ThreadMonitor};

use crate::lock_clocks::HbRole;
use crate::lock_order::Place;
use crate::session::{CheckSession, RecordClass};
use crate::stacks::ThreadStack;

/// Per-thread state; lives in the thread's store, so it is never shared.
pub struct CheckThread {
    tid: ThreadId,
    /// The thread's hold on its detector state, passed in place of `tid`.
    handle: ThreadHandle,
    session: Arc<CheckSession>,
    stack: ThreadStack,
    /// Reused buffer of decoded accesses of one drained batch.
    batch: Vec<Access>,
    /// Plain accesses logged right before an atomic, held back to be analyzed with it
    /// (at most [`HOLD_BACK_MAX`]); every other event delivers them first.
    pending: Vec<Access>,
}

/// The longest batch held back for the atomic that follows it (analyzed in the same
/// detector call: one call and one race hand-off instead of two, about 7% of pinned
/// bench_atomics and bench_locks); a longer one is handed over on its own, where the
/// saving is lost in its length.
const HOLD_BACK_MAX: usize = 64;

impl CheckThread {
    pub fn new(tid: ThreadId, session: Arc<CheckSession>) -> Self {
        CheckThread {
            tid,
            handle: ThreadHandle::new(tid),
            session,
            stack: ThreadStack::default(),
            batch: Vec::new(),
            pending: Vec::new(),
        }
    }

    fn access(&self, site: u32, addr: u64, size: u32, write: bool, atomic: bool) -> Access {
        Access {
            addr,
            size,
            write,
            atomic,
            site,
            stack: self.stack.current(),
        }
    }

    /// Hands the decoded plain accesses to the detector.
    fn flush(&mut self, batch: &mut Vec<Access>) {
        if !batch.is_empty() {
            self.session.detector.accesses(&mut self.handle, batch);
            batch.clear();
        }
    }

    /// Hands held-back accesses to the detector on their own (no atomic took them).
    fn deliver_pending(&mut self) {
        if !self.pending.is_empty() {
            self.session
                .detector
                .accesses(&mut self.handle, &self.pending);
            self.pending.clear();
            self.session.report_new_races();
        }
    }

    /// Decodes `records` in program order: calls move the stack, accesses handled as
    /// atomics go to the detector at once (after the plain ones before them); the plain
    /// accesses after the last of those are left in the returned batch.
    fn decode(&mut self, records: &[u8]) -> Vec<Access> {
        let mut batch = std::mem::take(&mut self.batch);
        for record in records.chunks_exact(RECORD_SIZE as usize) {
            let addr = u32::from_le_bytes([record[0], record[1], record[2], record[3]]);
            let site = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
            let class = self.session.records.get(site as usize);
            match class.copied().unwrap_or(RecordClass::Ignore) {
                RecordClass::Check { size, write } => {
                    if write {
                        // A lock word written plainly is a new object now.
                        self.session.locks.plain_write(addr.into(), size.into());
                    }
                    batch.push(self.access(site, addr.into(), size.into(), write, false));
                }
                RecordClass::AsAtomic { size, write } => {
                    // Keep program order: the plain accesses before it go first.
                    self.flush(&mut batch);
                    let access = self.access(site, addr.into(), size.into(), write, true);
                    self.session.detector.atomic(
                        &mut self.handle,
                        SyncId::Addr(addr.into()),
                        access,
                    );
                    let hb = self.hb_role(site);
                    self.session.locks.sync_access(self.tid, hb, addr.into());
                }
                RecordClass::Enter => self.stack.enter(&self.session.stacks, site),
                RecordClass::Exit => self.stack.exit(),
                RecordClass::Ignore => {}
            }
        }
        batch
    }

    /// Decodes drained `records` and hands their plain accesses to the detector, or
    /// holds them back for the atomic that follows when there are at most `hold_back`.
    fn hand_over(&mut self, records: &[u8], hold_back: usize) {
        self.deliver_pending();
        let mut batch = self.decode(records);
        if batch.len() <= hold_back {
            // `atomic` takes them: one detector call for both.
            std::mem::swap(&mut batch, &mut self.pending);
        } else {
            self.flush(&mut batch);
        }
        self.session.report_new_races();
        self.batch = batch;
    }

    fn hb_role(&self, site: u32) -> HbRole {
        self.session
            .hb_roles
            .get(site as usize)
            .copied()
            .unwrap_or(HbRole::Sync)
    }

    fn kind(&self, site: u32) -> Option<SiteKind> {
        self.session.sites.get(site as usize).map(|s| s.kind)
    }
}

impl ThreadMonitor for CheckThread {
    fn records(&mut self, records: &[u8]) {
        self.hand_over(records, 0);
    }

    fn records_before_atomic(&mut self, records: &[u8]) {
        self.hand_over(records, HOLD_BACK_MAX);
    }

    fn perform_atomic(
        &mut self,
        site: u32,
        addr: u64,
        operand: u64,
        expected: u64,
        perform: &mut dyn FnMut() -> u64,
    ) -> Option<u64> {
        let Some(SiteKind::Atomic { op, size }) = self.kind(site) else {
            return None;
        };
        let access = self.access(site, addr, size.into(), op != AtomicOp::Load, true);
        let roles = (self.session.lock_roles[site as usize], self.hb_role(site));
        let place = Place {
            site: Some(site),
            stack: self.stack.current(),
        };
        let (tid, locks) = (self.tid, &self.session.locks);
        // Performed and handed to the lock tracker under the detector's lock for the
        // address, which orders every atomic on it: the tracker, too, needs them in
        // their modification order.
        let result = self.session.detector.atomic_after(
            &mut self.handle,
            &self.pending,
            SyncId::Addr(addr),
            access,
            || {
                let result = perform();
                let values = (result, operand, expected);
                locks.atomic(tid, roles, op, size, addr, values, place);
                result
            },
        );
        self.pending.clear();
        self.session.report_new_races();
        Some(result)
    }

    fn atomic(&mut self, site: u32, addr: u64, result: u64, operand: u64, expected: u64) {
        // Only when the runtime did not let us perform it (not an atomic's site) or the
        // module executed it itself: the same analysis, with the result it had.
        if self
            .perform_atomic(site, addr, operand, expected, &mut || result)
            .is_none()
        {
            self.deliver_pending();
        }
    }

    fn wait_begin(&mut self, site: u32, addr: u64, _timeout: i64) {
        self.deliver_pending();
        // A wait on a lock word after failing to take it: the attempt blocks.
        let place = Place {
            site: Some(site),
            stack: self.stack.current(),
        };
        self.session.locks.wait_begin(self.tid, addr, place);
    }

    fn wait_end(&mut self, site: u32, addr: u64, result: u32) {
        self.deliver_pending();
        // Only a wait that was woken (result 0) synchronizes with the notify.
        if result == 0 {
            self.session
                .detector
                .acquire(&mut self.handle, SyncId::Addr(addr));
            let hb = self.hb_role(site);
            self.session.locks.wait_or_notify(self.tid, hb, addr, true);
        }
    }

    fn notify(&mut self, site: u32, addr: u64, _count: u32) {
        self.deliver_pending();
        self.session
            .detector
            .release(&mut self.handle, SyncId::Addr(addr));
        let hb = self.hb_role(site);
        self.session.locks.wait_or_notify(self.tid, hb, addr, false);
    }

    fn fence(&mut self, _site: u32) {
        self.deliver_pending();
        self.session
            .detector
            .acquire(&mut self.handle, SyncId::Fence);
        self.session
            .detector
            .release(&mut self.handle, SyncId::Fence);
        self.session.locks.fence(self.tid);
    }

    fn bulk(&mut self, site: u32, dst: u64, src: u64, len: u64) {
        self.deliver_pending();
        let Some(SiteKind::Bulk { op }) = self.kind(site) else {
            return;
        };
        if len == 0 {
            return;
        }
        self.session.locks.plain_write(dst, len);
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        let mut accesses = vec![self.access(site, dst, len, true, false)];
        if op == BulkOp::Copy {
            accesses.push(self.access(site, src, len, false, false));
        }
        self.session.detector.accesses(&mut self.handle, &accesses);
        self.session.report_new_races();
    }

    fn fork(&mut self, child: ThreadId) {
        self.deliver_pending();
        self.session.detector.fork(&mut self.handle, child);
        self.session.locks.fork(self.tid, child);
    }

    fn join(&mut self, joined: ThreadId) {
        self.deliver_pending();
        self.session.detector.join(&mut self.handle, joined);
        self.session.locks.join(self.tid, joined);
    }

    fn lock_hook(&mut self, hook: LockHook, addr: u32) {
        self.deliver_pending();
        let place = Place {
            site: None,
            stack: self.stack.current(),
        };
        self.session.locks.hook(self.tid, hook, addr.into(), place);
        match hook {
            LockHook::FinishLock => self
                .session
                .detector
                .acquire(&mut self.handle, SyncId::Lock(addr.into())),
            LockHook::StartUnlock => self
                .session
                .detector
                .release(&mut self.handle, SyncId::Lock(addr.into())),
            LockHook::StartLock | LockHook::FinishUnlock => {}
        }
    }

    fn exit(&mut self, ends_program: bool) {
        self.deliver_pending();
        self.session.detector.thread_exit(&mut self.handle);
        self.session.locks.exit(self.tid, ends_program);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::{OutputFormat, Reporter, ReporterConfig};
    use wasmgrind_report::Symbolizer;
    use wasmgrind_runtime::CodeMap;

    /// Site ids of the test module.
    struct Sites {
        write: [u32; 2],
        read: u32,
        atomic: u32,
    }

    /// A session over a module whose sites are two plain 4-byte writes, a plain read and
    /// an atomic store, reporting into nothing (the test reads the count).
    fn session() -> (Arc<CheckSession>, Sites) {
        let wasm = wat::parse_str(
            r#"(module (memory 1 1 shared)
                 (func (param i32) (i32.store (local.get 0) (i32.const 1)))
                 (func (param i32) (i32.store (local.get 0) (i32.const 2)))
                 (func (param i32) (result i32) (i32.load (local.get 0)))
                 (func (param i32) (i32.atomic.store (local.get 0) (i32.const 1))))"#,
        )
        .unwrap();
        let symbolizer = Symbolizer::new(&wasm).unwrap();
        let code_map = CodeMap::new(&wasm, &wasm, None).unwrap();
        let module = crate::instrument(&wasm, &symbolizer, &code_map).unwrap();
        let sites: Arc<[_]> = Arc::from(module.instrumented.sites.clone());
        let all = |f: fn(&SiteKind) -> bool| -> Vec<u32> {
            (0..sites.len() as u32)
                .filter(|&i| f(&sites[i as usize].kind))
                .collect()
        };
        let writes = all(|k| matches!(k, SiteKind::Write { .. }));
        let ids = Sites {
            write: [writes[0], writes[1]],
            read: all(|k| matches!(k, SiteKind::Read { .. }))[0],
            atomic: all(|k| matches!(k, SiteKind::Atomic { .. }))[0],
        };
        let config = ReporterConfig {
            format: OutputFormat::Json,
            suppressions: None,
            halt_on_error: false,
            error_exitcode: 66,
        };
        let reporter = Reporter::new(config, symbolizer, code_map, Box::new(std::io::sink()));
        let session = CheckSession::new(sites, module.classes, Arc::new(reporter));
        (session, ids)
    }

    /// Drained records of `(addr, site)` accesses.
    fn records(accesses: &[(u32, u32)]) -> Vec<u8> {
        accesses
            .iter()
            .flat_map(|(addr, site)| [addr.to_le_bytes(), site.to_le_bytes()].concat())
            .collect()
    }

    const X: u32 = 0x100;

    #[test]
    fn held_back_accesses_go_before_a_fork() {
        // Thread 1 writes X right before an atomic that does not come (its next event is
        // a fork): the write must be analyzed before the fork, so the child's read of X
        // is ordered after it.
        let (s, site) = session();
        let mut t0 = CheckThread::new(0, s.clone());
        t0.fork(1);
        let mut t1 = CheckThread::new(1, s.clone());
        t1.records_before_atomic(&records(&[(X, site.write[0])]));
        t1.fork(2);
        let mut t2 = CheckThread::new(2, s.clone());
        t2.records(&records(&[(X, site.read)]));
        assert_eq!(s.reporter.count(), 0);
        // It was analyzed: a thread ordered with neither races with the write and the read.
        t0.fork(3);
        let mut t3 = CheckThread::new(3, s.clone());
        t3.records(&records(&[(X, site.write[1])]));
        assert_eq!(s.reporter.count(), 2);
    }

    #[test]
    fn held_back_accesses_are_analyzed_with_the_atomic_or_at_exit() {
        // Threads 1 and 2 write X and X + 4, each right before its atomic hook: thread 1's
        // write goes with its atomic, thread 2's with its exit (the atomic trapped).
        let (s, site) = session();
        let mut t0 = CheckThread::new(0, s.clone());
        t0.fork(1);
        t0.fork(2);
        let mut t1 = CheckThread::new(1, s.clone());
        t1.records_before_atomic(&records(&[(X, site.write[0])]));
        t1.atomic(site.atomic, 0x200, 0, 1, 0);
        let mut t2 = CheckThread::new(2, s.clone());
        t2.records_before_atomic(&records(&[(X + 4, site.write[1])]));
        t2.exit(false);
        assert_eq!(s.reporter.count(), 0);
        // A thread ordered with neither reads both words: two races, one per write site.
        t0.fork(3);
        let mut t3 = CheckThread::new(3, s.clone());
        t3.records(&records(&[(X, site.read), (X + 4, site.read)]));
        assert_eq!(s.reporter.count(), 2);
    }
}
