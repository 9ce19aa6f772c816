//! Timeline export: Chrome/Perfetto trace-event JSON (open in ui.perfetto.dev or
//! chrome://tracing).
//!
//! Time is the event index (one "microsecond" per event). One track per thread
//! (`tid` = thread id, named after the thread); lock hold intervals are complete
//! (`X`) slices named after the lock; accesses are thread-scoped instant (`i`) events;
//! an access that takes part in a race is a 1-long `X` slice instead, and each race
//! is a flow arrow (`s` at the earlier access, `f` at the later one, same `id`).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use crate::error::{Result, TraceError};
use crate::event::{Event, Op};
use crate::names::Names;

/// A lock currently held by a thread, with where and when it was acquired.
struct Held {
    lock: u64,
    since: u64,
    loc: u32,
}

/// Streaming timeline writer. Memory is bounded by the race list and the locks held.
pub struct TimelineWriter<W: Write> {
    out: BufWriter<W>,
    names: Names,
    first: bool,
    index: u64,
    seen_threads: Vec<bool>,
    held: Vec<Vec<Held>>,
    /// Event index → (flow id, true at the earlier access).
    flows: FxHashMap<u64, Vec<(usize, bool)>>,
}

impl TimelineWriter<File> {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path, names: Names, races: &[(u64, u64)]) -> Result<Self> {
        let f = File::create(path)
            .map_err(|e| TraceError::io(format!("creating {}", path.display()), e))?;
        Self::new(f, names, races)
    }
}

impl<W: Write> TimelineWriter<W> {
    /// Starts the JSON document. `races` are pairs of event indices (earlier, later).
    pub fn new(out: W, names: Names, races: &[(u64, u64)]) -> Result<Self> {
        let mut flows: FxHashMap<u64, Vec<(usize, bool)>> = FxHashMap::default();
        for (id, &(a, b)) in races.iter().enumerate() {
            flows.entry(a).or_default().push((id, true));
            flows.entry(b).or_default().push((id, false));
        }
        let mut w = TimelineWriter {
            out: BufWriter::new(out),
            names,
            first: true,
            index: 0,
            seen_threads: Vec::new(),
            held: Vec::new(),
            flows,
        };
        w.out
            .write_all(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n")
            .map_err(|e| TraceError::io("writing timeline", e))?;
        Ok(w)
    }

    fn emit(&mut self, v: &Value) -> Result<()> {
        let io = |e| TraceError::io("writing timeline", e);
        if !self.first {
            self.out.write_all(b",\n").map_err(io)?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, v)
            .map_err(|e| TraceError::io("writing timeline", e.into()))
    }

    /// Appends the next event of the trace, naming ids through the writer's own names.
    pub fn write(&mut self, e: &Event) -> Result<()> {
        let names = std::mem::take(&mut self.names);
        let r = self.write_named(e, &names);
        self.names = names;
        r
    }

    /// Appends the next event of the trace, naming ids through `names`.
    pub fn write_named(&mut self, e: &Event, names: &Names) -> Result<()> {
        let idx = self.index;
        self.index += 1;
        let t = e.thread as usize;
        if self.seen_threads.len() <= t {
            self.seen_threads.resize(t + 1, false);
            self.held.resize_with(t + 1, Vec::new);
        }
        if !self.seen_threads[t] {
            self.seen_threads[t] = true;
            let name = names.thread_label(e.thread);
            self.emit(
                &json!({"ph":"M","name":"thread_name","pid":0,"tid":t,"args":{"name":name}}),
            )?;
        }
        let decor = names.decor_label(e.op.decor_kind(), e.decor);
        let loc = names.location_label(e.loc);
        match e.op {
            Op::Acquire => self.held[t].push(Held {
                lock: e.decor,
                since: idx,
                loc: e.loc,
            }),
            Op::Release => match self.held[t].iter().rposition(|h| h.lock == e.decor) {
                Some(pos) => {
                    let h = self.held[t].remove(pos);
                    let acq_loc = names.location_label(h.loc);
                    self.emit(&json!({"ph":"X","cat":"lock","name":decor,"pid":0,"tid":t,
                        "ts":h.since,"dur":idx - h.since,
                        "args":{"acquire_location":acq_loc,"release_location":loc}}))?;
                }
                None => self.emit(
                    &json!({"ph":"i","s":"t","cat":"lock","name":format!("rel {decor}"),
                    "pid":0,"tid":t,"ts":idx,"args":{"location":loc}}),
                )?,
            },
            Op::Read | Op::Write | Op::Fork | Op::Join | Op::LockRequest => {
                let name = format!("{} {decor}", e.op);
                let cat = if e.op.is_access() { "access" } else { "thread" };
                match self.flows.remove(&idx) {
                    None => self.emit(&json!({"ph":"i","s":"t","cat":cat,"name":name,
                        "pid":0,"tid":t,"ts":idx,"args":{"location":loc}}))?,
                    Some(flows) => {
                        self.emit(
                            &json!({"ph":"X","cat":"race","name":format!("race: {name}"),
                            "pid":0,"tid":t,"ts":idx,"dur":1,"args":{"location":loc}}),
                        )?;
                        for (id, start) in flows {
                            let v = if start {
                                json!({"ph":"s","cat":"race","name":"race","id":id,"pid":0,"tid":t,"ts":idx})
                            } else {
                                json!({"ph":"f","bp":"e","cat":"race","name":"race","id":id,"pid":0,"tid":t,"ts":idx})
                            };
                            self.emit(&v)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Closes locks still held at the end and the JSON document; returns the writer.
    pub fn finish(mut self) -> Result<W> {
        let end = self.index;
        let held = std::mem::take(&mut self.held);
        for (t, locks) in held.into_iter().enumerate() {
            for h in locks {
                let name = self.names.decor_label(Op::Acquire.decor_kind(), h.lock);
                let acq_loc = self.names.location_label(h.loc);
                self.emit(&json!({"ph":"X","cat":"lock","name":name,"pid":0,"tid":t,
                    "ts":h.since,"dur":end - h.since,"args":{"acquire_location":acq_loc}}))?;
            }
        }
        let io = |e| TraceError::io("writing timeline", e);
        self.out.write_all(b"\n]}\n").map_err(io)?;
        self.out
            .into_inner()
            .map_err(|e| TraceError::io("flushing timeline", e.into_error()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_tracks_slices_instants_and_flows() {
        let evs = [
            Event::new(0, Op::Fork, 1, 0),
            Event::new(0, Op::Acquire, 0, 1),
            Event::new(0, Op::Write, 5, 2),
            Event::new(0, Op::Release, 0, 3),
            Event::new(1, Op::Write, 5, 4),
            Event::new(1, Op::Acquire, 0, 5),
        ];
        let mut w = TimelineWriter::new(Vec::new(), Names::default(), &[(2, 4)]).unwrap();
        for e in &evs {
            w.write(e).unwrap();
        }
        let out = w.finish().unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();
        let evs = doc["traceEvents"].as_array().unwrap();
        let by_ph = |ph: &str| evs.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();
        assert_eq!(by_ph("M").len(), 2);
        let slices = by_ph("X");
        let lock0: Vec<_> = slices.iter().filter(|s| s["cat"] == "lock").collect();
        assert_eq!(lock0.len(), 2, "one released, one still held at the end");
        assert_eq!(lock0[0]["ts"], 1);
        assert_eq!(lock0[0]["dur"], 2);
        assert_eq!(lock0[0]["name"], "L0");
        assert_eq!(lock0[1]["tid"], 1);
        assert_eq!(lock0[1]["dur"], 1);
        let s = by_ph("s");
        let f = by_ph("f");
        assert_eq!((s.len(), f.len()), (1, 1));
        assert_eq!(s[0]["id"], f[0]["id"]);
        assert_eq!(
            (s[0]["tid"].as_u64(), f[0]["tid"].as_u64()),
            (Some(0), Some(1))
        );
        assert_eq!(
            (s[0]["ts"].as_u64(), f[0]["ts"].as_u64()),
            (Some(2), Some(4))
        );
        assert_eq!(by_ph("i").len(), 1, "the fork is the only plain instant");
    }
}
