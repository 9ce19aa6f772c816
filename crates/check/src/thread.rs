//! One thread's event handling: decoding drained records into detector accesses and
//! mapping synchronization hooks onto happens-before operations (DESIGN.md,
//! "Semantics every part agrees on").

use std::sync::Arc;

use wasmgrind_analysis::online::{Access, SyncId};
use wasmgrind_instrument::{AtomicOp, BulkOp, SiteKind, RECORD_SIZE};
use wasmgrind_runtime::{LockHook, ThreadId, ThreadMonitor};

use crate::lock_clocks::HbRole;
use crate::lock_order::Place;
use crate::session::{CheckSession, RecordClass};
use crate::stacks::ThreadStack;

/// Per-thread state; lives in the thread's store, so it is never shared.
pub struct CheckThread {
    tid: ThreadId,
    session: Arc<CheckSession>,
    stack: ThreadStack,
    /// Reused buffer of decoded accesses of one drained batch.
    batch: Vec<Access>,
}

impl CheckThread {
    pub fn new(tid: ThreadId, session: Arc<CheckSession>) -> Self {
        CheckThread {
            tid,
            session,
            stack: ThreadStack::default(),
            batch: Vec::new(),
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
    fn flush(&self, batch: &mut Vec<Access>) {
        if !batch.is_empty() {
            self.session.detector.accesses(self.tid, batch);
            batch.clear();
        }
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
                    self.session
                        .detector
                        .atomic(self.tid, SyncId::Addr(addr.into()), access);
                    let hb = self.hb_role(site);
                    self.session.locks.sync_access(self.tid, hb, addr.into());
                }
                RecordClass::Enter => self.stack.enter(&self.session.stacks, site),
                RecordClass::Exit => self.stack.exit(),
                RecordClass::Ignore => {}
            }
        }
        self.flush(&mut batch);
        self.session.report_new_races();
        self.batch = batch;
    }

    fn atomic(&mut self, site: u32, addr: u64, result: u64, operand: u64, expected: u64) {
        let Some(SiteKind::Atomic { op, size }) = self.kind(site) else {
            return;
        };
        let access = self.access(site, addr, size.into(), op != AtomicOp::Load, true);
        self.session
            .detector
            .atomic(self.tid, SyncId::Addr(addr), access);
        let roles = (self.session.lock_roles[site as usize], self.hb_role(site));
        let place = Place {
            site: Some(site),
            stack: self.stack.current(),
        };
        self.session.locks.atomic(
            self.tid,
            roles,
            op,
            size,
            addr,
            (result, operand, expected),
            place,
        );
        self.session.report_new_races();
    }

    fn wait_begin(&mut self, site: u32, addr: u64, _timeout: i64) {
        // A wait on a lock word after failing to take it: the attempt blocks.
        let place = Place {
            site: Some(site),
            stack: self.stack.current(),
        };
        self.session.locks.wait_begin(self.tid, addr, place);
    }

    fn wait_end(&mut self, site: u32, addr: u64, result: u32) {
        // Only a wait that was woken (result 0) synchronizes with the notify.
        if result == 0 {
            self.session.detector.acquire(self.tid, SyncId::Addr(addr));
            let hb = self.hb_role(site);
            self.session.locks.wait_or_notify(self.tid, hb, addr, true);
        }
    }

    fn notify(&mut self, site: u32, addr: u64, _count: u32) {
        self.session.detector.release(self.tid, SyncId::Addr(addr));
        let hb = self.hb_role(site);
        self.session.locks.wait_or_notify(self.tid, hb, addr, false);
    }

    fn fence(&mut self, _site: u32) {
        self.session.detector.acquire(self.tid, SyncId::Fence);
        self.session.detector.release(self.tid, SyncId::Fence);
        self.session.locks.fence(self.tid);
    }

    fn bulk(&mut self, site: u32, dst: u64, src: u64, len: u64) {
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
        self.session.detector.accesses(self.tid, &accesses);
        self.session.report_new_races();
    }

    fn fork(&mut self, child: ThreadId) {
        self.session.detector.fork(self.tid, child);
        self.session.locks.fork(self.tid, child);
    }

    fn join(&mut self, joined: ThreadId) {
        self.session.detector.join(self.tid, joined);
        self.session.locks.join(self.tid, joined);
    }

    fn lock_hook(&mut self, hook: LockHook, addr: u32) {
        let place = Place {
            site: None,
            stack: self.stack.current(),
        };
        self.session.locks.hook(self.tid, hook, addr.into(), place);
        match hook {
            LockHook::FinishLock => self
                .session
                .detector
                .acquire(self.tid, SyncId::Lock(addr.into())),
            LockHook::StartUnlock => self
                .session
                .detector
                .release(self.tid, SyncId::Lock(addr.into())),
            LockHook::StartLock | LockHook::FinishUnlock => {}
        }
    }

    fn exit(&mut self) {
        self.session.detector.thread_exit(self.tid);
        self.session.locks.exit(self.tid);
    }
}
