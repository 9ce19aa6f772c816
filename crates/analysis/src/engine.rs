//! The interface every offline engine implements, so one streaming loop drives them all.

use wasmgrind_trace::Event;

use crate::report::Report;

/// An analysis over a trace, fed one event at a time in trace order.
pub trait Engine {
    /// Processes the next event.
    fn process(&mut self, e: &Event);
    /// Ends the trace and returns what was found.
    fn finish(self) -> Report;
}
