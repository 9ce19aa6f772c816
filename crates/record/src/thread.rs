//! One thread's events mapped to trace events (the choices are in the crate docs).

use std::sync::Arc;

use wasmgrind_instrument::{AtomicOp, BulkOp, SiteKind, RECORD_SIZE};
use wasmgrind_runtime::{LockHook, ThreadId, ThreadMonitor};
use wasmgrind_trace::Op;

use crate::lock_inference::{Inferred, LockInference};
use crate::locks::LockKey;
use crate::peeks::Peeks;
use crate::recorder::{Pending, Recorder, Target};

/// Per-thread state; lives in the thread's store, so it is never shared.
pub struct RecordThread {
    tid: ThreadId,
    recorder: Arc<Recorder>,
    inference: LockInference,
    /// Reused buffer of one drained batch's (or one hook's) events.
    batch: Vec<Pending>,
    /// Plain accesses held back from a possible peek at a lock word on.
    peeks: Peeks,
}

/// `acq(atomic@addr) [access] rel(atomic@addr)`: an atomic access, or an access treated
/// as one.
fn atomic_access(batch: &mut Vec<Pending>, site: u32, addr: u64, access: Option<(Op, u32)>) {
    batch.push(Pending::lock(
        Op::Acquire,
        LockKey::atomic(addr),
        Some(site),
    ));
    if let Some((op, size)) = access {
        batch.push(Pending::variable(op, addr, size, site));
    }
    batch.push(Pending::lock(
        Op::Release,
        LockKey::atomic(addr),
        Some(site),
    ));
}

impl RecordThread {
    /// Thread `tid` of the run `recorder` records.
    pub fn new(tid: ThreadId, recorder: Arc<Recorder>) -> Self {
        RecordThread {
            tid,
            recorder,
            inference: LockInference::default(),
            batch: Vec::new(),
            peeks: Peeks::default(),
        }
    }

    /// Writes the held events, then the ones `f` builds for a synchronization event
    /// (the C library's own on the word at `library_sync_on`, if `Some`).
    fn with_batch(
        &mut self,
        library_sync_on: Option<u64>,
        f: impl FnOnce(&mut Self, &mut Vec<Pending>),
    ) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        self.peeks.settle(library_sync_on, &mut batch);
        f(self, &mut batch);
        self.recorder.emit(self.tid, &batch);
        batch.clear();
        self.batch = batch;
    }

    fn single(&mut self, event: Pending) {
        self.with_batch(None, |_, batch| batch.push(event));
    }
}

impl Drop for RecordThread {
    /// Writes what is still held (a thread that ended without its `exit` hook).
    fn drop(&mut self) {
        self.with_batch(None, |_, _| {});
    }
}

impl ThreadMonitor for RecordThread {
    fn records(&mut self, records: &[u8]) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let sites = self.recorder.sites();
        for record in records.chunks_exact(RECORD_SIZE as usize) {
            let addr = u32::from_le_bytes([record[0], record[1], record[2], record[3]]);
            let site = u32::from_le_bytes([record[4], record[5], record[6], record[7]]);
            let (op, size) = match sites.kind(site) {
                Some(SiteKind::Read { size }) => (Op::Read, size),
                Some(SiteKind::Write { size }) => (Op::Write, size),
                // Call enter/exit records rebuild stacks in `check`; traces have none.
                _ => continue,
            };
            let info = sites.info(site);
            if info.allocator {
                continue;
            }
            let (addr, size) = (u64::from(addr), u32::from(size));
            if info.libc_sync {
                self.peeks.settle(Some(addr), &mut batch);
                atomic_access(&mut batch, site, addr, Some((op, size)));
            } else {
                let peek = (op == Op::Read && info.c_library).then_some(addr);
                self.peeks
                    .push_plain(Pending::variable(op, addr, size, site), peek, &mut batch);
            }
        }
        self.peeks.take_settled(&mut batch);
        self.recorder.emit(self.tid, &batch);
        batch.clear();
        self.batch = batch;
    }

    fn atomic(&mut self, site: u32, addr: u64, result: u64, operand: u64, expected: u64) {
        let Some(SiteKind::Atomic { op, size }) = self.recorder.sites().kind(site) else {
            return;
        };
        let info = self.recorder.sites().info(site);
        let inferred =
            self.inference
                .atomic(info.lock_role, op, size, addr, result, operand, expected);
        let access = match op {
            AtomicOp::Load => Op::Read,
            // A failed compare-exchange only read.
            AtomicOp::Cmpxchg if result != expected => Op::Read,
            _ => Op::Write,
        };
        self.with_batch(info.c_library.then_some(addr), |_, batch| {
            let key = LockKey::inferred(addr);
            match inferred {
                Inferred::Request => batch.push(Pending::lock(Op::LockRequest, key, Some(site))),
                Inferred::Release => batch.push(Pending::lock(Op::Release, key, Some(site))),
                Inferred::Acquire | Inferred::None => {}
            }
            atomic_access(batch, site, addr, Some((access, size.into())));
            if inferred == Inferred::Acquire {
                batch.push(Pending::lock(Op::Acquire, key, Some(site)));
            }
        });
    }

    fn wait_end(&mut self, site: u32, addr: u64, result: u32) {
        // Only a woken wait synchronizes with its notify; acquire + release (not a lone
        // acquire) keeps the address's lock well formed for every engine.
        if result == 0 {
            self.with_batch(None, |_, batch| atomic_access(batch, site, addr, None));
        }
    }

    fn notify(&mut self, site: u32, addr: u64, _count: u32) {
        self.with_batch(None, |_, batch| atomic_access(batch, site, addr, None));
    }

    fn fence(&mut self, site: u32) {
        self.with_batch(None, |_, batch| {
            batch.push(Pending::lock(Op::Acquire, LockKey::FENCE, Some(site)));
            batch.push(Pending::lock(Op::Release, LockKey::FENCE, Some(site)));
        });
    }

    fn bulk(&mut self, site: u32, dst: u64, src: u64, len: u64) {
        let Some(SiteKind::Bulk { op }) = self.recorder.sites().kind(site) else {
            return;
        };
        if len == 0 {
            return;
        }
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        self.with_batch(None, |_, batch| {
            if op == BulkOp::Copy {
                batch.push(Pending::variable(Op::Read, src, len, site));
            }
            batch.push(Pending::variable(Op::Write, dst, len, site));
        });
    }

    fn fork(&mut self, child: ThreadId) {
        self.single(Pending {
            op: Op::Fork,
            target: Target::Thread(child),
            site: None,
        });
    }

    fn join(&mut self, joined: ThreadId) {
        self.single(Pending {
            op: Op::Join,
            target: Target::Thread(joined),
            site: None,
        });
    }

    fn exit(&mut self, _ends_program: bool) {
        self.with_batch(None, |_, _| {});
    }

    fn lock_hook(&mut self, hook: LockHook, addr: u32) {
        let op = match hook {
            LockHook::StartLock => Op::LockRequest,
            LockHook::FinishLock => Op::Acquire,
            LockHook::StartUnlock => Op::Release,
            LockHook::FinishUnlock => return,
        };
        self.single(Pending::lock(op, LockKey::mutex(addr.into()), None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::TraceSink;
    use crate::site_table::{SiteInfo, SiteTable};
    use wasmgrind_instrument::Site;
    use wasmgrind_trace::metadata::LocationInfo;
    use wasmgrind_trace::rapidbin::RapidBinReader;
    use wasmgrind_trace::{open_trace, Event, Format, Metadata};

    const READ4: u32 = 0;
    const WRITE4: u32 = 1;
    const CMPXCHG: u32 = 2;
    const STORE: u32 = 3;
    const LOAD: u32 = 4;
    const LIBC_WRITE: u32 = 5;
    const COPY: u32 = 6;
    const LIBC_READ: u32 = 8;

    fn table() -> SiteTable {
        let kinds = [
            SiteKind::Read { size: 4 },
            SiteKind::Write { size: 4 },
            SiteKind::Atomic {
                op: AtomicOp::Cmpxchg,
                size: 4,
            },
            SiteKind::Atomic {
                op: AtomicOp::Store,
                size: 4,
            },
            SiteKind::Atomic {
                op: AtomicOp::Load,
                size: 4,
            },
            SiteKind::Write { size: 4 },
            SiteKind::Bulk { op: BulkOp::Copy },
            SiteKind::CallEnter,
            SiteKind::Read { size: 4 },
        ];
        let sites: Arc<[Site]> = kinds
            .iter()
            .enumerate()
            .map(|(i, &kind)| Site {
                kind,
                func: 1,
                offset: 100 + i as u32,
                body_offset: i as u32,
            })
            .collect();
        let info = (0..kinds.len())
            .map(|i| SiteInfo {
                libc_sync: i as u32 == LIBC_WRITE,
                allocator: false,
                c_library: i as u32 == LIBC_WRITE || i as u32 == LIBC_READ,
                lock_role: Default::default(),
                location: Some(LocationInfo {
                    function: 1,
                    offset: 1000 + i as u64,
                }),
            })
            .collect();
        SiteTable::from_parts(sites, info)
    }

    fn records(list: &[(u32, u32)]) -> Vec<u8> {
        list.iter()
            .flat_map(|&(addr, site)| {
                let mut r = addr.to_le_bytes().to_vec();
                r.extend_from_slice(&site.to_le_bytes());
                r
            })
            .collect()
    }

    fn recorder(dir: &std::path::Path, format: Format) -> (Arc<Recorder>, std::path::PathBuf) {
        let path = dir.join("t.trace");
        let sink = TraceSink::create(&path, format).unwrap();
        let rec = Recorder::new(table(), sink, Some(Metadata::path_for(&path)));
        (rec, path)
    }

    fn read_back(path: &std::path::Path) -> Vec<Event> {
        open_trace(path)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    /// A little program: main forks 1; both write 0x100 plainly; thread 1 takes and
    /// releases an inferred lock at 0x200 around a write of 0x300; main reads it.
    fn drive(rec: &Arc<Recorder>) {
        let mut main = RecordThread::new(0, rec.clone());
        let mut child = RecordThread::new(1, rec.clone());
        main.records(&records(&[(0x100, WRITE4), (0, 7)]));
        main.fork(1);
        child.records(&records(&[(0x100, WRITE4)]));
        child.atomic(CMPXCHG, 0x200, 0, 1, 0);
        child.records(&records(&[(0x300, WRITE4), (0x300, READ4)]));
        child.atomic(STORE, 0x200, 0, 0, 0);
        main.atomic(LOAD, 0x200, 0, 0, 0);
        main.records(&records(&[(0x300, READ4), (0x400, LIBC_WRITE)]));
        main.bulk(COPY, 0x500, 0x600, 16);
        main.lock_hook(LockHook::StartLock, 0x700);
        main.lock_hook(LockHook::FinishLock, 0x700);
        main.lock_hook(LockHook::StartUnlock, 0x700);
        main.lock_hook(LockHook::FinishUnlock, 0x700);
        main.join(1);
    }

    #[test]
    fn events_ids_and_metadata_of_a_small_run() {
        let dir = tempfile::tempdir().unwrap();
        let (rec, path) = recorder(dir.path(), Format::RapidBin);
        drive(&rec);
        let summary = rec.finish().unwrap();
        let events = read_back(&path);
        assert_eq!(summary.events, events.len() as u64);
        let e = |t, op, decor, loc| Event::new(t, op, decor, loc);
        // Variables: 0x100/4 → 0, 0x200/4 → 1, 0x300/4 → 2, 0x400/4 → 3, copy src → 4,
        // dst → 5. Locks: atomic@0x200 → 0, inferred@0x200 → 1, atomic@0x400 → 2,
        // mutex@0x700 → 3. Locations: WRITE4 → 1, CMPXCHG → 2, READ4 → 3, STORE → 4,
        // LOAD → 5, LIBC_WRITE → 6, COPY → 7; runtime events → 0.
        let expected = vec![
            e(0, Op::Write, 0, 1),
            e(0, Op::Fork, 1, 0),
            e(1, Op::Write, 0, 1),
            e(1, Op::Acquire, 0, 2),
            e(1, Op::Write, 1, 2),
            e(1, Op::Release, 0, 2),
            e(1, Op::Acquire, 1, 2),
            e(1, Op::Write, 2, 1),
            e(1, Op::Read, 2, 3),
            e(1, Op::Release, 1, 4),
            e(1, Op::Acquire, 0, 4),
            e(1, Op::Write, 1, 4),
            e(1, Op::Release, 0, 4),
            e(0, Op::Acquire, 0, 5),
            e(0, Op::Read, 1, 5),
            e(0, Op::Release, 0, 5),
            e(0, Op::Read, 2, 3),
            e(0, Op::Acquire, 2, 6),
            e(0, Op::Write, 3, 6),
            e(0, Op::Release, 2, 6),
            e(0, Op::Read, 4, 7),
            e(0, Op::Write, 5, 7),
            e(0, Op::LockRequest, 3, 0),
            e(0, Op::Acquire, 3, 0),
            e(0, Op::Release, 3, 0),
            e(0, Op::Join, 1, 0),
        ];
        assert_eq!(events, expected);
        let header = RapidBinReader::open(&path).unwrap().header();
        assert_eq!(
            (
                header.threads,
                header.locks,
                header.variables,
                header.events
            ),
            (2, 4, 6, expected.len() as i64)
        );

        let meta = Metadata::load(&Metadata::path_for(&path)).unwrap();
        assert_eq!(meta.variables[&1].address, 0x200);
        assert_eq!(meta.variables[&2].address, 0x300);
        assert_eq!(meta.variables[&5].address, 0x500);
        assert_eq!(meta.variables[&5].size, 16);
        assert_eq!(meta.locations[&2].offset, 1000 + u64::from(CMPXCHG));
        assert!(!meta.locations.contains_key(&0));
        assert_eq!(meta.names.locks[1], "inferred@0x200");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(Metadata::path_for(&path)).unwrap()).unwrap();
        assert_eq!(json["locks"]["3"]["kind"], "mutex");
        assert_eq!(json["locks"]["3"]["address"], 0x700);
        // No two recorded ranges overlap here.
        assert_eq!(json["overlaps"], serde_json::json!([]));
    }

    #[test]
    fn a_c_library_peek_at_a_word_its_synchronization_takes_next_is_an_atomic_read() {
        let dir = tempfile::tempdir().unwrap();
        let (rec, path) = recorder(dir.path(), Format::RapidBin);
        let mut t = RecordThread::new(0, rec.clone());
        // The library reads 0x800, then its synchronization code accesses 0x800.
        t.records(&records(&[(0x800, LIBC_READ), (0x800, LIBC_WRITE)]));
        // A read of 0x900 followed by other synchronization: plain, and before it.
        t.records(&records(&[(0x900, LIBC_READ), (0x904, READ4)]));
        t.fork(1);
        // Still held when the thread ends: written all the same.
        t.records(&records(&[(0xa00, LIBC_READ)]));
        drop(t);
        rec.finish().unwrap();
        let events = read_back(&path);
        let ops: Vec<Op> = events.iter().map(|e| e.op).collect();
        use Op::*;
        assert_eq!(
            ops,
            [Acquire, Read, Release, Acquire, Write, Release, Read, Read, Fork, Read]
        );
        // The peek's lock pair is the word's atomic lock, the one its synchronization
        // access holds.
        assert_eq!(events[0].decor, events[3].decor);
        assert_eq!(events[2].decor, events[5].decor);
        assert_eq!(events[1].decor, events[4].decor, "the same variable");
    }

    #[test]
    fn std_and_rapidbin_recordings_hold_the_same_events() {
        let dir_b = tempfile::tempdir().unwrap();
        let dir_s = tempfile::tempdir().unwrap();
        let (bin, bin_path) = recorder(dir_b.path(), Format::RapidBin);
        let (std, std_path) = recorder(dir_s.path(), Format::Std);
        drive(&bin);
        drive(&std);
        bin.finish().unwrap();
        std.finish().unwrap();
        // The STD reader renumbers tokens in first-seen order, which is id order here.
        assert_eq!(read_back(&bin_path), read_back(&std_path));
        let text = std::fs::read_to_string(&std_path).unwrap();
        assert!(text.starts_with("T0|w(V0)|1\nT0|fork(T1)|0\n"), "{text}");
    }

    #[test]
    fn exceeding_a_rapidbin_limit_is_an_error_and_leaves_a_readable_trace() {
        let dir = tempfile::tempdir().unwrap();
        let (rec, path) = recorder(dir.path(), Format::RapidBin);
        let mut main = RecordThread::new(0, rec.clone());
        main.records(&records(&[(0x100, WRITE4)]));
        main.fork(1024); // thread ids have 10 bits
        main.records(&records(&[(0x104, WRITE4)])); // dropped: the trace is closed
        let err = rec.finish().unwrap_err().to_string();
        assert!(err.contains("--format std"), "{err}");
        assert_eq!(read_back(&path), vec![Event::new(0, Op::Write, 0, 1)]);
        assert!(Metadata::path_for(&path).exists());
        // The error is reported once.
        assert!(rec.finish().is_ok());
    }

    #[test]
    fn overlapping_variables_are_listed_in_the_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let (rec, _) = recorder(dir.path(), Format::RapidBin);
        let mut main = RecordThread::new(0, rec.clone());
        main.records(&records(&[(0x100, WRITE4), (0x102, READ4), (0x106, READ4)]));
        // [0x100, 0x104) and [0x102, 0x106) overlap, [0x106, 0x10a) touches neither.
        assert_eq!(rec.metadata()["overlaps"], serde_json::json!([[0, 1]]));
    }
}
