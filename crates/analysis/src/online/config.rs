//! Tuning knobs of the detector and the counters it keeps.

/// Detector configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most shadow cells one 8-byte granule keeps: up to four inline, any more spilled to
    /// a side table. When full, storing evicts one (possibly missing races, never
    /// inventing any). Values below 2 are treated as 2.
    pub max_cells_per_granule: usize,
    /// Most distinct site pairs remembered for deduplication; past it, races on new pairs
    /// are counted in [`Stats::races_dropped`] and not reported (bounds memory).
    pub max_race_pairs: usize,
}

impl Config {
    /// Cells per granule actually used (at least the inline ones).
    pub(crate) fn cells_per_granule(&self) -> usize {
        self.max_cells_per_granule.max(2)
    }
}

impl Default for Config {
    /// Four cells per granule (like ThreadSanitizer) and a million site pairs.
    fn default() -> Self {
        Config {
            max_cells_per_granule: 4,
            max_race_pairs: 1 << 20,
        }
    }
}

/// Counters describing the work done so far (for tests, benchmarks and `--stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Per-granule access checks performed (an access spanning n granules counts n).
    pub granule_checks: u64,
    /// Granule checks answered by the same-thread, same-epoch fast path.
    pub fast_path_hits: u64,
    /// Cells overwritten while still holding unrelated information (possible missed races).
    pub evictions: u64,
    /// Accesses and synchronization events ignored because a thread id in them exceeds
    /// the supported range (ids up to 2^22 - 1; thread ids are dense spawn indices).
    pub ignored_events: u64,
    /// Races found on an already reported site pair (not reported again).
    pub races_deduplicated: u64,
    /// Races on new site pairs dropped because the pair set was full.
    pub races_dropped: u64,
    /// 64 KiB shadow chunks allocated.
    pub chunks: u64,
    /// Granules whose cells spilled past the inline ones.
    pub spilled_granules: u64,
    /// Granules detached from their chunk because they hold an atomic word.
    pub detached_granules: u64,
    /// Approximate heap bytes of shadow memory (chunks, tables, spilled cells).
    pub shadow_bytes: u64,
    /// Vector-clock entries held by threads and synchronization objects.
    pub clock_entries: u64,
}
