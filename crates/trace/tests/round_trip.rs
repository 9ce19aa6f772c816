//! Round trips between events, RapidBin and STD, on random event streams.

use std::io::Cursor;

use proptest::prelude::*;
use wasmgrind_trace::rapidbin::{RapidBinReader, RapidBinWriter};
use wasmgrind_trace::std_text::{StdReader, StdWriter};
use wasmgrind_trace::{Event, Names, Op, TraceError};

fn event() -> impl Strategy<Value = Event> {
    (0u32..1024, 0usize..7, 0u64..(1 << 30), 0u32..(1 << 15)).prop_map(|(t, op, d, loc)| {
        let op = Op::ALL[op];
        let decor = if op.is_thread_op() { d % 1024 } else { d };
        Event::new(t, op, decor, loc)
    })
}

fn to_rapidbin(evs: &[Event]) -> Vec<u8> {
    let mut w = RapidBinWriter::new(Cursor::new(Vec::new())).unwrap();
    for e in evs {
        w.write(e).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn from_rapidbin(bytes: Vec<u8>) -> Vec<Event> {
    RapidBinReader::new(Cursor::new(bytes))
        .unwrap()
        .collect::<Result<_, TraceError>>()
        .unwrap()
}

fn to_std(evs: &[Event], names: Names) -> String {
    let mut w = StdWriter::new(Vec::new(), names);
    for e in evs {
        w.write(e).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

proptest! {
    #[test]
    fn rapidbin_round_trip(evs in proptest::collection::vec(event(), 0..300)) {
        prop_assert_eq!(from_rapidbin(to_rapidbin(&evs)), evs);
    }

    #[test]
    fn std_text_round_trip(evs in proptest::collection::vec(event(), 0..300)) {
        // Events → STD → events renumbers ids densely; STD → events → STD is the identity.
        let text = to_std(&evs, Names::default());
        let mut r = StdReader::new(text.as_bytes());
        let back: Vec<Event> = r.by_ref().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back.len(), evs.len());
        for (a, b) in evs.iter().zip(&back) {
            prop_assert_eq!(a.op, b.op);
            prop_assert_eq!(a.loc, b.loc);
        }
        let again = to_std(&back, r.into_names());
        prop_assert_eq!(again, text);
    }

    #[test]
    fn std_to_rapidbin_to_std(evs in proptest::collection::vec(event(), 0..300)) {
        let text = to_std(&evs, Names::default());
        let mut r = StdReader::new(text.as_bytes());
        let parsed: Vec<Event> = r.by_ref().collect::<Result<_, _>>().unwrap();
        let names = r.into_names();
        let via_bin = from_rapidbin(to_rapidbin(&parsed));
        prop_assert_eq!(&via_bin, &parsed);
        prop_assert_eq!(to_std(&via_bin, names), text);
    }
}
