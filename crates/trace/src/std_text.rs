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
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{Result, TraceError};
use crate::event::{DecorKind, Event, Op};
use crate::names::Names;

/// Interns tokens of one id space into dense ids, first-seen order.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Box<[u8]>, u32>,
}

impl Interner {
    /// The id of `token`, assigning `names.len()` and recording the name when new.
    #[inline]
    fn intern(&mut self, token: &[u8], names: &mut Vec<String>) -> u32 {
        if let Some(&id) = self.ids.get(token) {
            return id;
        }
        let id = names.len() as u32;
        names.push(String::from_utf8_lossy(token).into_owned());
        self.ids.insert(token.into(), id);
        id
    }
}

/// Streaming STD reader: an iterator of events, with the name tables built as it goes.
pub struct StdReader<R: Read> {
    input: BufReader<R>,
    line: Vec<u8>,
    line_no: u64,
    names: Names,
    threads: Interner,
    locks: Interner,
    variables: Interner,
    /// Non-numeric (or colliding) location tokens → assigned ids.
    locations: FxHashMap<Box<[u8]>, u32>,
    /// Smallest id a new location name may take: above every numeric location seen.
    next_location: u32,
    failed: bool,
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
            input: BufReader::with_capacity(256 * 1024, input),
            line: Vec::with_capacity(128),
            line_no: 0,
            names: Names::default(),
            threads: Interner::default(),
            locks: Interner::default(),
            variables: Interner::default(),
            locations: FxHashMap::default(),
            next_location: 0,
            failed: false,
        }
    }

    /// The names seen so far (complete once the iterator is exhausted).
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// Consumes the reader, returning its name tables.
    pub fn into_names(self) -> Names {
        self.names
    }

    fn bad(&self, what: &str) -> TraceError {
        TraceError::BadStdLine {
            line: self.line_no,
            message: format!("{what} in {:?}", String::from_utf8_lossy(trim(&self.line))),
        }
    }

    /// Parses the current line (already known to be non-blank).
    fn parse_line(&mut self) -> Result<Event> {
        let line = std::mem::take(&mut self.line);
        let r = self.parse_fields(trim(&line));
        self.line = line;
        r
    }

    #[inline]
    fn parse_fields(&mut self, s: &[u8]) -> Result<Event> {
        let bar = memchr(b'|', s).ok_or_else(|| self.bad("expected `|` after the thread"))?;
        let thread_tok = trim(&s[..bar]);
        let rest = &s[bar + 1..];
        let open =
            memchr(b'(', rest).ok_or_else(|| self.bad("expected `(` after the operation"))?;
        let op_tok = trim(&rest[..open]);
        let rest = &rest[open + 1..];
        let close = memchr(b')', rest).ok_or_else(|| self.bad("expected `)` after the operand"))?;
        let decor_tok = trim(&rest[..close]);
        let rest = trim(&rest[close + 1..]);
        let loc_tok = match rest.split_first() {
            Some((b'|', loc)) => trim(loc),
            None => b"0".as_slice(),
            Some(_) => return Err(self.bad("expected `|` before the location")),
        };
        if thread_tok.is_empty() {
            return Err(self.bad("empty thread"));
        }
        if decor_tok.is_empty() {
            return Err(self.bad("empty operand"));
        }
        if loc_tok.is_empty() || memchr(b'|', loc_tok).is_some() {
            return Err(self.bad("bad location"));
        }
        let op = match op_tok {
            b"r" => Op::Read,
            b"w" => Op::Write,
            b"acq" => Op::Acquire,
            b"rel" => Op::Release,
            b"fork" => Op::Fork,
            b"join" => Op::Join,
            b"req" => Op::LockRequest,
            _ => {
                return Err(self.bad("unknown operation (expected r, w, acq, rel, fork, join, req)"))
            }
        };
        let thread = self.threads.intern(thread_tok, &mut self.names.threads);
        let decor = match op.decor_kind() {
            DecorKind::Variable => self.variables.intern(decor_tok, &mut self.names.variables),
            DecorKind::Lock => self.locks.intern(decor_tok, &mut self.names.locks),
            DecorKind::Thread => self.threads.intern(decor_tok, &mut self.names.threads),
        };
        let loc = self.location(loc_tok);
        Ok(Event {
            thread,
            op,
            decor: decor.into(),
            loc,
        })
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

    fn next_event(&mut self) -> Option<Result<Event>> {
        loop {
            self.line.clear();
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    return Some(Err(TraceError::io(
                        format!("reading STD trace line {}", self.line_no + 1),
                        e,
                    )))
                }
            }
            self.line_no += 1;
            if trim(&self.line).is_empty() {
                continue;
            }
            return Some(self.parse_line());
        }
    }
}

impl<R: Read> Iterator for StdReader<R> {
    type Item = Result<Event>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = self.next_event();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}

#[inline]
fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
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
