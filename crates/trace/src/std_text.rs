//! RAPID's `STD` text format: one event a line, `<thread>|<op>(<decor>)|<location>`.
//!
//! Ops are `r`, `w`, `acq`, `rel`, `fork`, `join` and `req`. Thread, lock and variable
//! fields are free-form tokens (`T0`, `L34`, `V234.23[0]`, `main`: anything without
//! `|`, `(` or `)`), each mapped to a dense id in first-seen order per id space; the
//! original spellings are kept in [`Names`] so a trace prints back as it was written.
//! A location that is a decimal number keeps that number as its id; other location
//! tokens (and numbers whose id a name already took) get fresh ids, recorded in
//! [`Names::locations`].

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{Result, TraceError};
use crate::event::{DecorKind, Event, Op};
use crate::names::Names;

mod interner;

use interner::Interner;

/// Bytes asked from the input at a time; a line longer than the buffer grows it.
const READ_CHUNK: usize = 256 * 1024;

/// Lines split per batch: the name lookups of a batch are prefetched while its lines
/// are split, so their cache misses overlap instead of stalling one after another.
const BATCH: usize = 32;

/// Streaming STD reader: an iterator of events, with the name tables built as it goes.
///
/// Lines are parsed in place in one reusable buffer, a batch at a time: first every
/// line of the batch is split into fields (prefetching the name-table slots its tokens
/// will need), then the tokens are interned in order. No allocation per line, only one
/// per new name (the [`Names`] entry).
pub struct StdReader<R: Read> {
    input: R,
    /// Invariant: `buf[pos..len]` holds bytes read but not yet split, `len <= buf.len()`.
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// How many bytes of `buf[pos..len]` are known to hold no newline (so a long line
    /// arriving in many reads is scanned once, not once per read).
    scanned: usize,
    /// The input has reported its end.
    eof: bool,
    line_no: u64,
    parser: LineParser,
    /// Lines of the current batch, split but not interned (offsets into `buf`).
    split: Vec<SplitLine>,
    /// Events of the current batch; `ready[next..]` are still to be returned.
    ready: Vec<Event>,
    next: usize,
    /// An error that ends the trace, returned once `ready` is drained.
    pending: Option<TraceError>,
    failed: bool,
}

/// Byte ranges (in the reader's buffer) of one line's tokens.
#[derive(Debug, Clone, Copy)]
struct SplitLine {
    op: Op,
    thread: (usize, usize),
    decor: (usize, usize),
    /// `None`: no location field (location 0).
    loc: Option<(usize, usize)>,
}

/// Everything that turns one line into an event: the name tables and id assignment.
struct LineParser {
    names: Names,
    threads: Interner,
    locks: Interner,
    variables: Interner,
    /// Non-numeric (or colliding) location tokens → assigned ids.
    locations: FxHashMap<Box<[u8]>, u32>,
    /// Smallest id a new location name may take: above every numeric location seen.
    next_location: u32,
}

impl StdReader<File> {
    /// Opens the STD trace at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let f = File::open(path)
            .map_err(|e| TraceError::io(format!("opening {}", path.display()), e))?;
        Ok(Self::new(f))
    }
}

impl<R: Read> StdReader<R> {
    /// Reads STD text from `input`.
    pub fn new(input: R) -> Self {
        StdReader {
            input,
            buf: vec![0; READ_CHUNK],
            pos: 0,
            len: 0,
            scanned: 0,
            eof: false,
            line_no: 0,
            parser: LineParser {
                names: Names::default(),
                threads: Interner::default(),
                locks: Interner::default(),
                variables: Interner::default(),
                locations: FxHashMap::default(),
                next_location: 0,
            },
            split: Vec::with_capacity(BATCH),
            ready: Vec::with_capacity(BATCH),
            next: 0,
            pending: None,
            failed: false,
        }
    }

    /// The names seen so far (complete once the iterator is exhausted). Names are
    /// recorded a batch of lines ahead of the events returned.
    pub fn names(&self) -> &Names {
        &self.parser.names
    }

    /// Consumes the reader, returning its name tables.
    pub fn into_names(self) -> Names {
        self.parser.names
    }

    /// Moves the unsplit bytes to the front and reads more after them, growing the
    /// buffer when one line fills it. Sets `eof` when the input has no more.
    fn refill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Splits up to [`BATCH`] lines, then interns them into `ready`. On a bad line or
    /// a read error, the lines before it are still in `ready` and the error is pending.
    fn fill_batch(&mut self) {
        self.split.clear();
        self.ready.clear();
        self.next = 0;
        while self.split.len() < BATCH {
            let unparsed = &self.buf[self.pos..self.len];
            let (line_len, skip) = match memchr::memchr(b'\n', &unparsed[self.scanned..]) {
                Some(i) => (self.scanned + i, self.scanned + i + 1),
                None if self.eof => {
                    if unparsed.is_empty() {
                        break;
                    }
                    (unparsed.len(), unparsed.len())
                }
                // Intern what is split before moving the buffer under it.
                None if !self.split.is_empty() => break,
                None => {
                    self.scanned = unparsed.len();
                    if let Err(e) = self.refill() {
                        self.pending = Some(TraceError::io(
                            format!("reading STD trace line {}", self.line_no + 1),
                            e,
                        ));
                        break;
                    }
                    continue;
                }
            };
            let start = self.pos;
            self.pos += skip;
            self.scanned = 0;
            self.line_no += 1;
            let line = &self.buf[start..start + line_len];
            match split_line(line) {
                Ok(None) => {}
                Ok(Some(f)) => {
                    let at = |(a, b): (usize, usize)| (start + a, start + b);
                    let f = SplitLine {
                        op: f.op,
                        thread: at(f.thread),
                        decor: at(f.decor),
                        loc: f.loc.map(at),
                    };
                    self.parser.prefetch(&self.buf, &f);
                    self.split.push(f);
                }
                Err(what) => {
                    self.pending = Some(TraceError::BadStdLine {
                        line: self.line_no,
                        message: format!("{what} in {:?}", String::from_utf8_lossy(trim(line))),
                    });
                    break;
                }
            }
        }
        for f in &self.split {
            self.ready.push(self.parser.intern(&self.buf, f));
        }
    }
}

/// The fields of a line: (start, end) byte ranges within the line.
struct Fields {
    op: Op,
    thread: (usize, usize),
    decor: (usize, usize),
    loc: Option<(usize, usize)>,
}

/// Splits one line (without its newline) into trimmed fields; `Ok(None)` for a blank
/// line, `Err` says what is wrong.
#[inline]
fn split_line(line: &[u8]) -> std::result::Result<Option<Fields>, &'static str> {
    let (a, b) = trimmed(line, 0, line.len());
    if a == b {
        return Ok(None);
    }
    let bar = a + find(b'|', &line[a..b]).ok_or("expected `|` after the thread")?;
    let thread = trimmed(line, a, bar);
    let open = bar + 1 + find(b'(', &line[bar + 1..b]).ok_or("expected `(` after the operation")?;
    let (oa, ob) = trimmed(line, bar + 1, open);
    let close =
        open + 1 + find(b')', &line[open + 1..b]).ok_or("expected `)` after the operand")?;
    let decor = trimmed(line, open + 1, close);
    let (ra, rb) = trimmed(line, close + 1, b);
    let loc = match line[ra..rb].first() {
        Some(b'|') => Some(trimmed(line, ra + 1, rb)),
        None => None,
        Some(_) => return Err("expected `|` before the location"),
    };
    if thread.0 == thread.1 {
        return Err("empty thread");
    }
    if decor.0 == decor.1 {
        return Err("empty operand");
    }
    if let Some((la, lb)) = loc {
        if la == lb || find(b'|', &line[la..lb]).is_some() {
            return Err("bad location");
        }
    }
    let op = match &line[oa..ob] {
        b"r" => Op::Read,
        b"w" => Op::Write,
        b"acq" => Op::Acquire,
        b"rel" => Op::Release,
        b"fork" => Op::Fork,
        b"join" => Op::Join,
        b"req" => Op::LockRequest,
        _ => return Err("unknown operation (expected r, w, acq, rel, fork, join, req)"),
    };
    Ok(Some(Fields {
        op,
        thread,
        decor,
        loc,
    }))
}

/// `(a, b)` shrunk past ASCII whitespace at both ends of `s[a..b]`.
#[inline]
fn trimmed(s: &[u8], mut a: usize, mut b: usize) -> (usize, usize) {
    while a < b && s[a].is_ascii_whitespace() {
        a += 1;
    }
    while b > a && s[b - 1].is_ascii_whitespace() {
        b -= 1;
    }
    (a, b)
}

impl LineParser {
    /// Hints the cache about the name-table slots `f`'s tokens will use.
    #[inline]
    fn prefetch(&self, buf: &[u8], f: &SplitLine) {
        let decor = &buf[f.decor.0..f.decor.1];
        match f.op.decor_kind() {
            DecorKind::Variable => self.variables.prefetch(decor),
            DecorKind::Lock => self.locks.prefetch(decor),
            DecorKind::Thread => {}
        }
    }

    /// The event of a split line, assigning ids to new names.
    #[inline]
    fn intern(&mut self, buf: &[u8], f: &SplitLine) -> Event {
        let tok = |(a, b): (usize, usize)| &buf[a..b];
        let thread = self.threads.intern(tok(f.thread), &mut self.names.threads);
        let decor_tok = tok(f.decor);
        let decor = match f.op.decor_kind() {
            DecorKind::Variable => self.variables.intern(decor_tok, &mut self.names.variables),
            DecorKind::Lock => self.locks.intern(decor_tok, &mut self.names.locks),
            DecorKind::Thread => self.threads.intern(decor_tok, &mut self.names.threads),
        };
        let loc = match f.loc {
            Some(l) => self.location(tok(l)),
            None => self.location(b"0"),
        };
        Event::new(thread, f.op, decor.into(), loc)
    }

    /// The id of a location token (see the module docs).
    #[inline]
    fn location(&mut self, tok: &[u8]) -> u32 {
        if let Some(n) = parse_u32(tok) {
            if self.names.locations.is_empty() || !self.names.locations.contains_key(&n) {
                self.next_location = self.next_location.max(n.saturating_add(1));
                return n;
            }
        }
        if let Some(&id) = self.locations.get(tok) {
            return id;
        }
        let id = self.next_location;
        self.next_location = id.saturating_add(1);
        self.names
            .locations
            .insert(id, String::from_utf8_lossy(tok).into_owned());
        self.locations.insert(tok.into(), id);
        id
    }
}

impl<R: Read> Iterator for StdReader<R> {
    type Item = Result<Event>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(&e) = self.ready.get(self.next) {
                self.next += 1;
                return Some(Ok(e));
            }
            if let Some(err) = self.pending.take() {
                self.failed = true;
                return Some(Err(err));
            }
            if self.failed {
                return None;
            }
            self.fill_batch();
            if self.ready.is_empty() && self.pending.is_none() {
                return None;
            }
        }
    }
}

/// Position of `needle` in a short field (fields are a few bytes: a plain scan beats
/// a SIMD search's set-up).
#[inline]
fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

#[inline]
fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// A plain decimal `u32` (no sign, no leading `+`), else `None`.
#[inline]
fn parse_u32(tok: &[u8]) -> Option<u32> {
    if tok.is_empty() || tok.len() > 10 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in tok {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    u32::try_from(v).ok()
}

/// Streaming STD writer, printing original names where [`Names`] has them.
pub struct StdWriter<W: Write> {
    out: BufWriter<W>,
    names: Names,
}

impl StdWriter<File> {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path, names: Names) -> Result<Self> {
        let f = File::create(path)
            .map_err(|e| TraceError::io(format!("creating {}", path.display()), e))?;
        Ok(Self::new(f, names))
    }
}

impl<W: Write> StdWriter<W> {
    /// Writes to `out`, naming ids through `names` (may be empty).
    pub fn new(out: W, names: Names) -> Self {
        StdWriter {
            out: BufWriter::with_capacity(256 * 1024, out),
            names,
        }
    }

    /// Appends one event line, naming ids through the writer's own names.
    pub fn write(&mut self, e: &Event) -> Result<()> {
        let names = std::mem::take(&mut self.names);
        let r = self.write_named(e, &names);
        self.names = names;
        r
    }

    /// Appends one event line, naming ids through `names` (e.g. the live tables of the
    /// [`StdReader`] the events come from).
    pub fn write_named(&mut self, e: &Event, names: &Names) -> Result<()> {
        let io = |err| TraceError::io("writing STD trace", err);
        match names.thread(e.thread) {
            Some(n) => self.out.write_all(n.as_bytes()).map_err(io)?,
            None => write!(self.out, "T{}", e.thread).map_err(io)?,
        }
        write!(self.out, "|{}(", e.op.std_name()).map_err(io)?;
        let kind = e.op.decor_kind();
        match names.decor(kind, e.decor) {
            Some(n) => self.out.write_all(n.as_bytes()).map_err(io)?,
            None => {
                let prefix = match kind {
                    DecorKind::Variable => 'V',
                    DecorKind::Lock => 'L',
                    DecorKind::Thread => 'T',
                };
                write!(self.out, "{prefix}{}", e.decor).map_err(io)?
            }
        }
        self.out.write_all(b")|").map_err(io)?;
        match names.location(e.loc) {
            Some(n) => self.out.write_all(n.as_bytes()).map_err(io)?,
            None => write!(self.out, "{}", e.loc).map_err(io)?,
        }
        self.out.write_all(b"\n").map_err(io)
    }

    /// Flushes buffered lines.
    pub fn flush(&mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| TraceError::io("flushing STD trace", e))
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W> {
        self.out
            .into_inner()
            .map_err(|e| TraceError::io("flushing STD trace", e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Event>, Names) {
        let mut r = StdReader::new(text.as_bytes());
        let evs = r.by_ref().collect::<Result<Vec<_>>>().unwrap();
        (evs, r.into_names())
    }

    #[test]
    fn parses_all_ops_and_free_form_names() {
        let text = "T0|fork(T1)|1\nT1|acq(L34)|2\r\nT1|w(V234.23[0])|3\n\n  T1 | rel(L34) | 4 \n\
                    main|r(x)|foo.c:12\nT1|req(L34)|5\nT0|join(T1)|6\n";
        let (evs, names) = read(text);
        assert_eq!(
            evs,
            vec![
                Event::new(0, Op::Fork, 1, 1),
                Event::new(1, Op::Acquire, 0, 2),
                Event::new(1, Op::Write, 0, 3),
                Event::new(1, Op::Release, 0, 4),
                Event::new(2, Op::Read, 1, 5),
                Event::new(1, Op::LockRequest, 0, 6),
                Event::new(0, Op::Join, 1, 7),
            ]
        );
        assert_eq!(names.threads, vec!["T0", "T1", "main"]);
        assert_eq!(names.locks, vec!["L34"]);
        assert_eq!(names.variables, vec!["V234.23[0]", "x"]);
        // "foo.c:12" took the next free id, 5; the numbers 5 and 6 written later then
        // collide and are renamed, keeping their spelling.
        assert_eq!(names.location(5), Some("foo.c:12"));
        assert_eq!(names.location_label(6), "5");
        assert_eq!(names.location_label(7), "6");
        assert_eq!(names.location_label(4), "4");
    }

    #[test]
    fn colliding_numeric_location_gets_fresh_id() {
        let (evs, names) = read("T0|r(V0)|abc\nT0|r(V0)|0\nT0|r(V0)|abc\n");
        // "abc" took id 0; the number 0 is then remapped and named.
        assert_eq!(evs[0].loc, 0);
        assert_ne!(evs[1].loc, 0);
        assert_eq!(evs[2].loc, 0);
        assert_eq!(names.location_label(evs[1].loc), "0");
        assert_eq!(names.location_label(0), "abc");
    }

    #[test]
    fn missing_location_defaults_to_zero() {
        let (evs, _) = read("T0|w(V1)\n");
        assert_eq!(evs, vec![Event::new(0, Op::Write, 0, 0)]);
    }

    #[test]
    fn bad_lines_report_line_numbers() {
        for (text, line, what) in [
            ("T0|w(V1)|1\nT0 w(V1) 1\n", 2, "expected `|`"),
            ("T0|w(V1)|1\n\nT0|x(V1)|1\n", 3, "unknown operation"),
            ("T0|w(V1|1\n", 1, "expected `)`"),
            ("T0|wV1)|1\n", 1, "expected `(`"),
            ("T0|w()|1\n", 1, "empty operand"),
            ("|w(V1)|1\n", 1, "empty thread"),
            ("T0|w(V1)x1\n", 1, "expected `|` before"),
            ("T0|w(V1)|\n", 1, "bad location"),
        ] {
            let mut r = StdReader::new(text.as_bytes());
            let err = r.find_map(|x| x.err()).expect(text).to_string();
            assert!(err.contains(&format!("line {line}")), "{text:?}: {err}");
            assert!(err.contains(what), "{text:?}: {err}");
            assert!(r.next().is_none(), "reader stops after an error");
        }
    }

    /// Hands out its bytes at most `.1` at a time, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_split_across_reads_and_longer_than_the_buffer() {
        let long = "v".repeat(READ_CHUNK * 2 + 7);
        // The last line has no newline.
        let text = format!("T0|w(V1)|1\nT1|r({long})|2\n\nT0|w(V1)|3");
        for chunk in [1, 3, 4096, usize::MAX] {
            let mut r = StdReader::new(Trickle(text.as_bytes(), chunk));
            let evs = r.by_ref().collect::<Result<Vec<_>>>().unwrap();
            assert_eq!(
                evs,
                vec![
                    Event::new(0, Op::Write, 0, 1),
                    Event::new(1, Op::Read, 1, 2),
                    Event::new(0, Op::Write, 0, 3),
                ],
                "chunk {chunk}"
            );
            assert_eq!(r.names().variables[1], long);
        }
    }

    #[test]
    fn read_errors_carry_the_line_number() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk on fire"));
                }
                self.0 -= 1;
                out[..11].copy_from_slice(b"T0|w(V1)|1\n");
                Ok(11)
            }
        }
        let mut r = StdReader::new(Failing(2));
        assert!(r.next().unwrap().is_ok());
        assert!(r.next().unwrap().is_ok());
        let err = r.next().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("disk on fire"),
            "{err}"
        );
        assert!(r.next().is_none());
    }

    #[test]
    fn writer_round_trips_names() {
        let text = "main|fork(worker)|1\nworker|acq(m)|two\nworker|w(V1.2[3])|3\nworker|rel(m)|4\nmain|join(worker)|5\nmain|r(V1.2[3])|6\n";
        let mut r = StdReader::new(text.as_bytes());
        let evs = r.by_ref().collect::<Result<Vec<_>>>().unwrap();
        let mut w = StdWriter::new(Vec::new(), r.into_names());
        for e in &evs {
            w.write(e).unwrap();
        }
        assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap(), text);
    }

    #[test]
    fn writer_without_names_uses_prefixes() {
        let mut w = StdWriter::new(Vec::new(), Names::default());
        w.write(&Event::new(3, Op::Acquire, 7, 12)).unwrap();
        w.write(&Event::new(3, Op::Fork, 4, 13)).unwrap();
        w.write(&Event::new(3, Op::Write, 9, 14)).unwrap();
        let s = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(s, "T3|acq(L7)|12\nT3|fork(T4)|13\nT3|w(V9)|14\n");
    }
}
