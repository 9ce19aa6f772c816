//! RapidBin, RAPID's binary trace format (also what the original Wasmgrind wrote).
//!
//! Layout, all big-endian: an 18-byte header `threads: i16, locks: i32, variables: i32,
//! events: i64`, then one `i64` per event. Counting from the least significant bit:
//! thread id in bits 0–9, operation code in bits 10–13, decor in bits 14–47, location
//! id in bits 48–62; the sign bit is unused (0).
//!
//! Header counts are `max id + 1` of each id space (threads include fork/join targets).
//! Readers trust the header's event count: bytes after the announced events are ignored,
//! which is what makes a writer interrupted between two `flush()`es leave a valid file.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Result, TraceError};
use crate::event::{DecorKind, Event, Op};

/// Size in bytes of the header.
pub const HEADER_LEN: usize = 18;
/// Thread ids must be below this (10 bits).
pub const MAX_THREADS: u64 = 1 << 10;
/// Decors must be below this (34 bits).
pub const MAX_DECOR: u64 = 1 << 34;
/// Location ids must be below this (15 bits).
pub const MAX_LOCATIONS: u64 = 1 << 15;

const THREAD_MASK: u64 = MAX_THREADS - 1;
const DECOR_SHIFT: u32 = 14;
const OP_SHIFT: u32 = 10;
const LOC_SHIFT: u32 = 48;

/// The header counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Header {
    /// Number of threads (max thread id + 1).
    pub threads: i16,
    /// Number of locks (max lock id + 1).
    pub locks: i32,
    /// Number of variables (max variable id + 1).
    pub variables: i32,
    /// Number of events that follow.
    pub events: i64,
}

impl Header {
    /// The 18 header bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..2].copy_from_slice(&self.threads.to_be_bytes());
        b[2..6].copy_from_slice(&self.locks.to_be_bytes());
        b[6..10].copy_from_slice(&self.variables.to_be_bytes());
        b[10..18].copy_from_slice(&self.events.to_be_bytes());
        b
    }

    /// Parses and validates the 18 header bytes.
    pub fn from_bytes(b: &[u8; HEADER_LEN]) -> Result<Header> {
        let h = Header {
            threads: i16::from_be_bytes([b[0], b[1]]),
            locks: i32::from_be_bytes([b[2], b[3], b[4], b[5]]),
            variables: i32::from_be_bytes([b[6], b[7], b[8], b[9]]),
            events: i64::from_be_bytes([b[10], b[11], b[12], b[13], b[14], b[15], b[16], b[17]]),
        };
        if h.threads < 0 || h.locks < 0 || h.variables < 0 || h.events < 0 {
            return Err(TraceError::BadRapidBin {
                detail: format!("negative count in header {h:?}"),
            });
        }
        Ok(h)
    }
}

/// Encodes one event, or says which field does not fit. `index` is only for the error.
#[inline]
pub fn encode(e: &Event, index: u64) -> Result<u64> {
    let exceeds = |field, value, limit| TraceError::ExceedsFormat {
        field,
        value,
        limit,
        event: index,
    };
    if u64::from(e.thread) >= MAX_THREADS {
        return Err(exceeds("thread id", e.thread.into(), MAX_THREADS));
    }
    if e.decor >= MAX_DECOR {
        return Err(exceeds("decor", e.decor, MAX_DECOR));
    }
    if e.op.is_thread_op() && e.decor >= MAX_THREADS {
        return Err(exceeds("thread id", e.decor, MAX_THREADS));
    }
    if u64::from(e.loc) >= MAX_LOCATIONS {
        return Err(exceeds("location id", e.loc.into(), MAX_LOCATIONS));
    }
    Ok(u64::from(e.thread)
        | u64::from(e.op.code()) << OP_SHIFT
        | e.decor << DECOR_SHIFT
        | u64::from(e.loc) << LOC_SHIFT)
}

/// Decodes one event; `None` when the operation code is unused.
#[inline]
pub fn decode(v: u64) -> Option<Event> {
    let op = Op::from_code(((v >> OP_SHIFT) & 0xf) as u8)?;
    Some(Event::new(
        (v & THREAD_MASK) as u32,
        op,
        (v >> DECOR_SHIFT) & (MAX_DECOR - 1),
        ((v >> LOC_SHIFT) & (MAX_LOCATIONS - 1)) as u32,
    ))
}

/// Bytes buffered before they are handed to the underlying writer.
const WRITE_BUFFER: usize = 64 * 1024;

/// Streaming RapidBin writer with bounded memory.
///
/// The header is written as zeros first and patched (seek to 0, write, seek back) at
/// every [`flush`](Self::flush) and at [`finish`](Self::finish): after either returns,
/// the file on disk is a complete trace of every event written so far.
pub struct RapidBinWriter<W: Write + Seek> {
    inner: W,
    buf: Vec<u8>,
    header_counts: Counts,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    threads: u64,
    locks: u64,
    variables: u64,
    events: u64,
}

impl RapidBinWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the placeholder header.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path)
            .map_err(|e| TraceError::io(format!("creating {}", path.display()), e))?;
        Self::new(BufWriter::new(f))
    }
}

impl<W: Write + Seek> RapidBinWriter<W> {
    /// Starts a trace on `inner` (positioned at the start of the trace).
    pub fn new(mut inner: W) -> Result<Self> {
        inner
            .write_all(&Header::default().to_bytes())
            .map_err(|e| TraceError::io("writing RapidBin header", e))?;
        Ok(RapidBinWriter {
            inner,
            buf: Vec::with_capacity(WRITE_BUFFER),
            header_counts: Counts::default(),
        })
    }

    /// Appends one event; fails without writing anything if it does not fit the format.
    #[inline]
    pub fn write(&mut self, e: &Event) -> Result<()> {
        let c = &mut self.header_counts;
        let v = encode(e, c.events)?;
        let bump = |slot: &mut u64, id: u64| *slot = (*slot).max(id + 1);
        match e.op.decor_kind() {
            DecorKind::Variable => {
                if e.decor >= i32::MAX as u64 {
                    return Err(TraceError::ExceedsFormat {
                        field: "variable id",
                        value: e.decor,
                        limit: i32::MAX as u64,
                        event: c.events,
                    });
                }
                bump(&mut c.variables, e.decor)
            }
            DecorKind::Lock => {
                if e.decor >= i32::MAX as u64 {
                    return Err(TraceError::ExceedsFormat {
                        field: "lock id",
                        value: e.decor,
                        limit: i32::MAX as u64,
                        event: c.events,
                    });
                }
                bump(&mut c.locks, e.decor)
            }
            DecorKind::Thread => bump(&mut c.threads, e.decor),
        }
        bump(&mut c.threads, e.thread.into());
        c.events += 1;
        self.buf.extend_from_slice(&v.to_be_bytes());
        if self.buf.len() >= WRITE_BUFFER {
            self.spill()?;
        }
        Ok(())
    }

    /// Number of events written so far.
    pub fn events(&self) -> u64 {
        self.header_counts.events
    }

    fn spill(&mut self) -> Result<()> {
        self.inner
            .write_all(&self.buf)
            .map_err(|e| TraceError::io("writing RapidBin events", e))?;
        self.buf.clear();
        Ok(())
    }

    /// The header describing everything written so far.
    pub fn header(&self) -> Header {
        let c = self.header_counts;
        Header {
            // Bounded by the encode checks: threads <= 1024, locks/variables < i32::MAX.
            threads: c.threads as i16,
            locks: c.locks as i32,
            variables: c.variables as i32,
            events: c.events as i64,
        }
    }

    /// Writes buffered events, then patches the header, so the file is complete now.
    pub fn flush(&mut self) -> Result<()> {
        self.spill()?;
        let header = self.header().to_bytes();
        let io = |e| TraceError::io("patching RapidBin header", e);
        // Events must reach the file before the header announces them.
        self.inner.flush().map_err(io)?;
        self.inner.seek(SeekFrom::Start(0)).map_err(io)?;
        self.inner.write_all(&header).map_err(io)?;
        self.inner.seek(SeekFrom::End(0)).map_err(io)?;
        self.inner.flush().map_err(io)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.inner)
    }
}

/// Bytes read from the underlying reader at a time.
const READ_BUFFER: usize = 64 * 1024;

/// Streaming RapidBin reader: an iterator of events in trace order.
///
/// Invariant: `buf[pos..len]` holds bytes read but not yet decoded; fewer than 8 of
/// them means a refill is due.
pub struct RapidBinReader<R: Read> {
    inner: R,
    header: Header,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    index: u64,
    failed: bool,
}

impl RapidBinReader<File> {
    /// Opens the RapidBin trace at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path)
            .map_err(|e| TraceError::io(format!("opening {}", path.display()), e))?;
        Self::new(f)
    }
}

impl<R: Read> RapidBinReader<R> {
    /// Reads the header from `inner`.
    pub fn new(mut inner: R) -> Result<Self> {
        let mut h = [0u8; HEADER_LEN];
        let got = read_full(&mut inner, &mut h)
            .map_err(|e| TraceError::io("reading RapidBin header", e))?;
        if got < HEADER_LEN {
            return Err(TraceError::Truncated {
                detail: format!("header has {got} of {HEADER_LEN} bytes"),
            });
        }
        Ok(RapidBinReader {
            inner,
            header: Header::from_bytes(&h)?,
            buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
            pos: 0,
            len: 0,
            index: 0,
            failed: false,
        })
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    fn refill(&mut self) -> Result<()> {
        self.buf.copy_within(self.pos..self.len, 0);
        self.len -= self.pos;
        self.pos = 0;
        let got = read_full(&mut self.inner, &mut self.buf[self.len..])
            .map_err(|e| TraceError::io(format!("reading RapidBin event {}", self.index), e))?;
        self.len += got;
        if self.len < 8 {
            return Err(TraceError::Truncated {
                detail: format!(
                    "header announces {} events but the file ends after {}",
                    self.header.events, self.index
                ),
            });
        }
        Ok(())
    }

    #[inline]
    fn next_event(&mut self) -> Result<Event> {
        if self.len - self.pos < 8 {
            self.refill()?;
        }
        let bytes: [u8; 8] = self.buf[self.pos..self.pos + 8]
            .try_into()
            .expect("slice of length 8");
        self.pos += 8;
        let v = u64::from_be_bytes(bytes);
        let index = self.index;
        self.index += 1;
        let event = decode(v).ok_or_else(|| TraceError::BadRapidBin {
            detail: format!(
                "event {index} has unknown operation code {}",
                (v >> 10) & 0xf
            ),
        })?;
        // Engines size per-thread state (and decide what no thread can still race
        // with) from the header's thread count: an id past it is a corrupt trace.
        let threads = self.header.threads as u64;
        if u64::from(event.thread) >= threads {
            return Err(thread_past_header(index, event.thread.into(), threads));
        }
        if event.op.decor_kind() == DecorKind::Thread && event.decor >= threads {
            return Err(thread_past_header(index, event.decor, threads));
        }
        Ok(event)
    }
}

impl<R: Read> Iterator for RapidBinReader<R> {
    type Item = Result<Event>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.index >= self.header.events as u64 {
            return None;
        }
        let r = self.next_event();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

/// Event `index` names thread `thread`, past the header's count.
#[cold]
fn thread_past_header(index: u64, thread: u64, threads: u64) -> TraceError {
    TraceError::BadRapidBin {
        detail: format!(
            "event {index} names thread {thread}, but the header counts {threads} threads"
        ),
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn ev(thread: u32, op: Op, decor: u64, loc: u32) -> Event {
        Event::new(thread, op, decor, loc)
    }

    #[test]
    fn hand_assembled_bytes_are_read() {
        // threads=2, locks=1, variables=3, events=2.
        let mut bytes = vec![0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2];
        // T1 w(V2) @ loc 5: 1 | 3<<10 | 2<<14 | 5<<48
        let a: u64 = 1 | (3 << 10) | (2 << 14) | (5 << 48);
        // T0 acq(L0) @ loc 32767 (op code 0, decor 0: only the location bits set).
        let b: u64 = 32767u64 << 48;
        bytes.extend_from_slice(&a.to_be_bytes());
        bytes.extend_from_slice(&b.to_be_bytes());
        let r = RapidBinReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(
            r.header(),
            Header {
                threads: 2,
                locks: 1,
                variables: 3,
                events: 2
            }
        );
        let evs: Vec<_> = r.collect::<Result<_>>().unwrap();
        assert_eq!(
            evs,
            vec![ev(1, Op::Write, 2, 5), ev(0, Op::Acquire, 0, 32767)]
        );
    }

    #[test]
    fn writer_emits_exact_layout() {
        let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write(&ev(3, Op::Fork, 4, 9)).unwrap();
        w.write(&ev(4, Op::Read, (1 << 31) - 2, 1)).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        assert_eq!(bytes.len(), HEADER_LEN + 16);
        // threads = 5 (fork target 4), locks 0, variables 2^31 - 1, events 2.
        let header = Header::from_bytes(bytes[..HEADER_LEN].try_into().unwrap()).unwrap();
        assert_eq!(
            header,
            Header {
                threads: 5,
                locks: 0,
                variables: i32::MAX,
                events: 2
            }
        );
        let v1 = u64::from_be_bytes(bytes[18..26].try_into().unwrap());
        assert_eq!(v1, 3 | (4 << 10) | (4 << 14) | (9 << 48));
        let v2 = u64::from_be_bytes(bytes[26..34].try_into().unwrap());
        assert_eq!(v2 >> 63, 0, "sign bit unused");
        assert_eq!(decode(v2), Some(ev(4, Op::Read, (1 << 31) - 2, 1)));
        assert_eq!(
            decode(((1u64 << 34) - 1) << 14),
            Some(ev(0, Op::Acquire, (1 << 34) - 1, 0))
        );
    }

    #[test]
    fn limits_are_clear_errors_and_leave_file_valid() {
        let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write(&ev(0, Op::Write, 1, 1)).unwrap();
        for (e, field) in [
            (ev(1024, Op::Write, 1, 1), "thread id"),
            (ev(0, Op::Write, 1 << 34, 1), "decor"),
            (ev(0, Op::Write, 1, 1 << 15), "location id"),
            (ev(0, Op::Fork, 1024, 1), "thread id"),
            (ev(0, Op::Read, 1 << 31, 1), "variable id"),
            (ev(0, Op::Release, 1 << 31, 1), "lock id"),
        ] {
            let err = w.write(&e).unwrap_err();
            match &err {
                TraceError::ExceedsFormat {
                    field: f, event, ..
                } => {
                    assert_eq!(*f, field);
                    assert_eq!(*event, 1);
                }
                other => panic!("unexpected {other:?}"),
            }
            assert!(err.to_string().contains("--format std"));
        }
        let bytes = w.finish().unwrap().into_inner();
        let evs: Vec<_> = RapidBinReader::new(Cursor::new(bytes))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(evs, vec![ev(0, Op::Write, 1, 1)]);
    }

    #[test]
    fn truncated_files_are_errors() {
        assert!(matches!(
            RapidBinReader::new(Cursor::new(vec![0u8; 10])),
            Err(TraceError::Truncated { .. })
        ));
        let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
        for i in 0..3 {
            w.write(&ev(0, Op::Read, i, 0)).unwrap();
        }
        let mut bytes = w.finish().unwrap().into_inner();
        bytes.truncate(bytes.len() - 3);
        let res: Vec<_> = RapidBinReader::new(Cursor::new(bytes)).unwrap().collect();
        assert_eq!(res.len(), 3);
        assert!(res[0].is_ok() && res[1].is_ok());
        let err = res[2].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains("3 events"),
            "{err}"
        );
    }

    #[test]
    fn unknown_op_code_is_an_error() {
        let mut bytes = Header {
            events: 1,
            ..Header::default()
        }
        .to_bytes()
        .to_vec();
        bytes.extend_from_slice(&(7u64 << 10).to_be_bytes());
        let res: Vec<_> = RapidBinReader::new(Cursor::new(bytes)).unwrap().collect();
        assert!(res[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("operation code 7"));
        let neg = Header {
            events: -1,
            ..Header::default()
        }
        .to_bytes();
        assert!(RapidBinReader::new(Cursor::new(neg.to_vec())).is_err());
    }

    #[test]
    fn a_thread_past_the_headers_count_is_an_error() {
        let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
        w.write(&ev(1, Op::Write, 0, 1)).unwrap();
        w.write(&ev(0, Op::Fork, 1, 2)).unwrap();
        let good = w.finish().unwrap().into_inner();
        assert_eq!(
            RapidBinReader::new(Cursor::new(good.clone()))
                .unwrap()
                .filter(Result::is_err)
                .count(),
            0
        );
        // The same events under a header counting one thread: the write's thread is
        // out of range (and reading stops there).
        let mut bytes = good;
        bytes[0..2].copy_from_slice(&1i16.to_be_bytes());
        let events: Vec<_> = RapidBinReader::new(Cursor::new(bytes)).unwrap().collect();
        assert_eq!(events.len(), 1);
        let err = events[0].as_ref().unwrap_err().to_string();
        assert!(
            err.contains("event 0 names thread 1, but the header counts 1"),
            "{err}"
        );
        // A fork's target counts too.
        let mut fork_only = Vec::new();
        let mut w = RapidBinWriter::new(Cursor::new(&mut fork_only)).unwrap();
        w.write(&ev(0, Op::Fork, 1, 2)).unwrap();
        w.finish().unwrap();
        fork_only[0..2].copy_from_slice(&1i16.to_be_bytes());
        let events: Vec<_> = RapidBinReader::new(Cursor::new(fork_only))
            .unwrap()
            .collect();
        let err = events[0].as_ref().unwrap_err().to_string();
        assert!(err.contains("event 0 names thread 1"), "{err}");
    }

    #[test]
    fn interrupted_after_flush_leaves_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.rapidbin");
        let mut w = RapidBinWriter::create(&path).unwrap();
        for i in 0..10_000u64 {
            w.write(&ev((i % 3) as u32, Op::Write, i % 7, 1)).unwrap();
        }
        w.flush().unwrap();
        // More events, some of which spill to the file without a header patch.
        for i in 0..20_000u64 {
            w.write(&ev(0, Op::Read, i % 5, 2)).unwrap();
        }
        // Simulate the process dying: drop the writer without finish. The BufWriter's
        // drop may write more bytes; the header still announces 10 000 events.
        std::mem::forget(w);
        let r = RapidBinReader::open(&path).unwrap();
        assert_eq!(r.header().events, 10_000);
        assert_eq!(r.header().threads, 3);
        assert_eq!(r.count(), 10_000);
    }

    #[test]
    fn large_streams_cross_buffer_boundaries() {
        let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
        let evs: Vec<Event> = (0..50_000u64)
            .map(|i| {
                ev(
                    (i % 1024) as u32,
                    Op::ALL[(i % 7) as usize],
                    if Op::ALL[(i % 7) as usize].is_thread_op() {
                        i % 1024
                    } else {
                        i * 7919 % (1 << 30)
                    },
                    (i % 32768) as u32,
                )
            })
            .collect();
        for e in &evs {
            w.write(e).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let back: Vec<_> = RapidBinReader::new(Cursor::new(bytes))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(back, evs);
    }
}
