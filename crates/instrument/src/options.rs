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
    /// atomic stores — with `atomic_end` only (no `atomic_begin`, so atomics are not
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
        }
    }
}

impl Options {
    /// Checks the options, returning the buffer capacity in bytes.
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
        Ok(cap)
    }
}
