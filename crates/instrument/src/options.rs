//! Options of the instrumentation pass.

/// What to instrument and how large the per-instance event buffer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Capacity in bytes of the event buffer (memory `__wasmgrind_events`); a non-zero multiple of
    /// [`RECORD_SIZE`](crate::RECORD_SIZE). Default 64 KiB.
    pub buffer_bytes: u32,
    /// Emit `CallEnter`/`CallExit` records around calls so the host can rebuild call stacks.
    /// Default true.
    pub call_stacks: bool,
    /// When the module has no shared memory, instrument memory 0 anyway (useful for tests and for
    /// single-threaded tracing). Default false.
    pub all_memories: bool,
    /// Function indices of the INPUT module whose bodies are copied without instrumentation.
    pub skip_functions: Vec<u32>,
    /// Which instructions are instrumented. Default [`Scope::Everything`].
    pub scope: Scope,
    /// Drop same-epoch repeats in the instrumented code itself: plain sites whose policy is
    /// [`PlainPolicy::Filter`] probe a per-instance table and log only the first access of an
    /// `(addr, site)` since the thread's last synchronization (see the crate documentation,
    /// "Repeat filter"). Off by default, so every access is logged (what `trace` needs).
    pub filter_repeats: bool,
    /// Slots of the repeat filter's table (a power of two, at least 2); ignored unless
    /// [`Options::filter_repeats`]. Default 2^17 (2 MiB of virtual memory per instance, touched
    /// only where used): a thread sweeping a 64 KiB array with a few sites keeps it all, and
    /// a smaller table made such a sweep miss on every access (measured in the crate docs).
    pub filter_slots: u32,
    /// What each plain (Read/Write) site does, indexed by site id as the sites of an earlier
    /// pass over the same input with the same options numbered them. A missing entry, and any
    /// entry of a non-plain site, counts as [`PlainPolicy::Always`] (the safe default: a
    /// policy vector of another module can only cost speed).
    pub plain_policy: Vec<PlainPolicy>,
}

/// How the instrumented code treats one plain access site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PlainPolicy {
    /// Log every access and start a new generation right after the record, so the next access
    /// of any [`PlainPolicy::Filter`] site logs again: for plain accesses the host handles as
    /// synchronization (a filtered repeat of a polling read would lose an acquire).
    #[default]
    Always,
    /// Log the access unless the repeat filter saw the same `(addr, site)` in the current
    /// generation (behaves as [`PlainPolicy::Always`] without [`Options::filter_repeats`],
    /// except that it starts no new generation).
    Filter,
    /// Never log the access (the host ignores it anyway).
    Skip,
}

/// Which instructions the pass instruments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Every access, atomic, wait/notify, fence, bulk operation and call: what race
    /// detection and tracing need.
    #[default]
    Everything,
    /// Only what hang and deadlock detection needs, for an uninstrumented-speed `run`:
    /// `memory.atomic.wait*` and `memory.atomic.notify` (`wait_begin`/`wait_end`/`notify`),
    /// and the atomics that can take or release a lock word — `cmpxchg`, `xchg` and
    /// atomic stores — with `atomic_end` only (no `atomic` hook, so atomics are not
    /// serialized). Plain accesses, other atomics, fences, bulk operations and calls
    /// are copied unchanged, so no records are ever logged.
    Blocking,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            buffer_bytes: 64 * 1024,
            call_stacks: true,
            all_memories: false,
            skip_functions: Vec::new(),
            scope: Scope::Everything,
            filter_repeats: false,
            filter_slots: 1 << 17,
            plain_policy: Vec::new(),
        }
    }
}

impl Options {
    /// Checks the options (buffer capacity, filter table size), returning the buffer
    /// capacity in bytes.
    pub(crate) fn validated_capacity(&self) -> Result<u32, crate::InstrumentError> {
        let cap = self.buffer_bytes;
        if cap == 0 || !cap.is_multiple_of(crate::RECORD_SIZE) {
            return Err(crate::InstrumentError::InvalidOptions(format!(
                "buffer_bytes must be a non-zero multiple of {}, got {cap}",
                crate::RECORD_SIZE
            )));
        }
        // The cursor is an i32 compared against the capacity; keep it well inside i32 range.
        if cap > 1 << 30 {
            return Err(crate::InstrumentError::InvalidOptions(format!(
                "buffer_bytes must be at most 1 GiB, got {cap}"
            )));
        }
        if self.filter_repeats && !(self.filter_slots >= 2 && self.filter_slots.is_power_of_two()) {
            return Err(crate::InstrumentError::InvalidOptions(format!(
                "filter_slots must be a power of two of at least 2, got {}",
                self.filter_slots
            )));
        }
        // Table and buffer share the events memory, which must stay inside 4 GiB.
        if self.filter_repeats && self.filter_slots > 1 << 24 {
            return Err(crate::InstrumentError::InvalidOptions(format!(
                "filter_slots must be at most 2^24, got {}",
                self.filter_slots
            )));
        }
        Ok(cap)
    }
}
