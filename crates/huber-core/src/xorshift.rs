//! A small deterministic generator for the unit tests (xorshift): random enough to reach every
//! branch, the same draws on every run, and no crate needed. Tests add the draws they need as
//! traits of their own.

/// Xorshift64 from a non-zero seed.
pub struct Rng(pub u64);

// An endless generator, not an iterator of options.
#[allow(clippy::should_implement_trait)]
impl Rng {
    /// The next draw.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A draw in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
