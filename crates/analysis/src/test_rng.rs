//! The deterministic pseudo-random source of the randomized tests (unit tests here,
//! and the integration tests through `tests/common`): xorshift64, so a failing case
//! reproduces from its seed alone.

/// xorshift64 state; never 0.
pub struct XorShift(u64);

impl XorShift {
    /// A generator starting from `seed` (non-zero).
    pub fn new(seed: u64) -> Self {
        XorShift(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
