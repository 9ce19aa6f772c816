//! The guest programs the suites run and their work scales (`argv[1]`), chosen so each
//! runs for the time the suite wants on the 2-core development machine under
//! `wasmgrind run`: ≈2–4 s for the compute guest, ≈1 s for the check workloads (the low
//! end of the wanted 1–2 s, because `check` currently takes 10–100 times as long and the
//! whole `all` run should stay near 5 minutes).

/// One guest of `guests/wasi` with its work scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Binary name in `guests/wasi` (the `.wasm` file's stem).
    pub guest: &'static str,
    /// `argv[1]` given to the guest.
    pub scale: u64,
    /// What it stresses, for the printed table.
    pub what: &'static str,
}

/// The `run-overhead` guest: 4 threads of pure computation.
pub const COMPUTE: Workload = Workload {
    guest: "compute",
    scale: 350_000,
    what: "4-thread integer hash chains",
};

/// The `check-overhead` workloads: 4 threads each, race-free, covering the kinds of
/// events the checker handles (plain accesses, locks, atomics, allocation, channels).
pub const CHECK_WORKLOADS: [Workload; 5] = [
    Workload {
        guest: "bench_array",
        scale: 9_000,
        what: "plain loads/stores over disjoint chunks",
    },
    Workload {
        guest: "bench_locks",
        scale: 16_000_000,
        what: "short Mutex critical sections",
    },
    Workload {
        guest: "bench_atomics",
        scale: 32_000_000,
        what: "fetch_add / compare_exchange loops",
    },
    Workload {
        guest: "bench_alloc",
        scale: 400_000,
        what: "Vec/Box/String churn",
    },
    Workload {
        guest: "bench_channels",
        scale: 500_000,
        what: "mpsc pipeline of 4 threads",
    },
];

/// Divides every scale by `divisor` (at least 1), for quick smoke runs.
pub fn scaled(w: Workload, divisor: u64) -> Workload {
    Workload {
        scale: (w.scale / divisor.max(1)).max(1),
        ..w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_exist_as_guest_sources() {
        let bin = crate::tools::repo_root().join("guests/wasi/src/bin");
        for w in CHECK_WORKLOADS.iter().chain([&COMPUTE]) {
            let src = bin.join(format!("{}.rs", w.guest));
            assert!(src.exists(), "no guest source {}", src.display());
        }
    }

    #[test]
    fn scaled_divides_and_never_reaches_zero() {
        assert_eq!(scaled(COMPUTE, 4).scale, COMPUTE.scale / 4);
        assert_eq!(scaled(COMPUTE, 0).scale, COMPUTE.scale);
        assert_eq!(scaled(COMPUTE, u64::MAX).scale, 1);
    }
}
