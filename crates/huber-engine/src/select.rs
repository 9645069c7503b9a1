//! Exact order statistics of values that can be read several times, in bounded memory.
//!
//! Values are ordered as [`f64::total_cmp`] orders them, through [`key`]s: integers whose order
//! is that order. A first pass counts the values in 65536 coarse buckets (the value rounded to
//! `f32`, whose ordered bits' top 16 bits give 7 bits of mantissa); each later pass looks only
//! at the key range that holds a wanted rank, and either counts it in 65536 finer buckets or,
//! once few enough values are in it, keeps them and selects in memory. Counts are integers and
//! the kept values are a multiset, so the result does not depend on the order values arrive in.
//! The first pass may also keep the buckets a later pass will want ([`Cache`]), so that the
//! later pass runs from memory.

use std::sync::Mutex;

use anyhow::{Context, Result};

mod cache;
pub use cache::{Cache, Replay};

/// Buckets of a counting pass.
const BUCKETS: usize = 1 << 16;
/// Most values a pass keeps in memory for one range (4 MiB of keys). Unit tests keep only a
/// few, so that small data goes through the counting passes too.
const KEEP_MAX: u64 = if cfg!(test) { 8 } else { 1 << 19 };

/// The value's position in IEEE total order, as an unsigned integer: negative values have all
/// bits flipped, others only the sign bit (as `f64::total_cmp` compares).
pub fn key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The value whose [`key`] is `k`.
pub fn value(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The coarse bucket of a value: the top 16 bits of the ordered bits of the value rounded to
/// `f32`. Rounding is monotone, so every bucket is a range of keys. NaNs go to the outermost
/// buckets (their payloads would not round monotonically).
fn coarse_bucket(x: f64) -> usize {
    if x.is_nan() {
        return if x.is_sign_negative() { 0 } else { BUCKETS - 1 };
    }
    let bits = (x as f32).to_bits();
    let ordered = if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    };
    (ordered >> 16) as usize
}

/// A value to select among: a residual in its compute type, or a deviation.
pub trait Value: Copy {
    /// Whether it is NaN.
    fn is_nan(self) -> bool;
    /// The value, widened.
    fn to_f64(self) -> f64;
    /// Its coarse bucket: the top 16 bits of the ordered bits of its `f32` rounding (it is
    /// never NaN).
    fn coarse(self) -> usize;
}

impl Value for f64 {
    fn is_nan(self) -> bool {
        self.is_nan()
    }

    fn to_f64(self) -> f64 {
        self
    }

    fn coarse(self) -> usize {
        coarse_bucket(self)
    }
}

impl Value for f32 {
    fn is_nan(self) -> bool {
        self.is_nan()
    }

    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    // The round trip through f64 is exact: straight to the bits, the cheap way.
    fn coarse(self) -> usize {
        let bits = self.to_bits();
        let ordered = if bits >> 31 == 1 {
            !bits
        } else {
            bits | 1 << 31
        };
        (ordered >> 16) as usize
    }
}

/// The first key whose coarse bucket is at least `b` (2⁶⁴ if none), by bisection.
fn coarse_start(b: usize) -> u128 {
    let (mut lo, mut hi) = (0u128, 1u128 << 64);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if coarse_bucket(value(mid as u64)) < b {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The middle ranks of `n` values: the one, or the two whose mean is numpy's median.
pub fn middle_ranks(n: u64) -> Vec<u64> {
    if n % 2 == 1 {
        vec![n / 2]
    } else {
        vec![n / 2 - 1, n / 2]
    }
}

/// numpy's median from the values at [`middle_ranks`]: the middle one, or the sum of the two,
/// halved.
pub fn median_of(middle: &[f64]) -> f64 {
    match *middle {
        [lower, upper] => (lower + upper) / 2.0,
        _ => middle[0],
    }
}

/// How a pass looks at the values of one key range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// Counts them in buckets of `2^shift` keys.
    Count { shift: u32 },
    /// Keeps their keys.
    Keep,
}

/// A range of keys, `lo..=hi`, and how a pass looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    lo: u64,
    hi: u64,
    look: Look,
}

impl Range {
    /// A range of `count` values: kept if they fit in memory, else counted.
    fn new(lo: u64, hi: u64, count: u64) -> Range {
        let look = if count <= KEEP_MAX {
            Look::Keep
        } else {
            let bits = 64 - (hi - lo).leading_zeros();
            Look::Count {
                shift: bits.saturating_sub(BUCKETS.trailing_zeros()),
            }
        };
        Range { lo, hi, look }
    }
}

/// What one pass does: count every value in coarse buckets, or look at some key ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// The first pass: coarse buckets over all values.
    Coarse,
    /// A later pass, over these ranges; `near` marks the coarse buckets they overlap, so
    /// that most values are passed over after a look at their coarse bucket.
    Ranges { ranges: Vec<Range>, near: Vec<bool> },
}

impl Pass {
    /// A pass over `ranges`.
    pub fn ranges(ranges: Vec<Range>) -> Pass {
        let mut near = vec![false; BUCKETS];
        for r in &ranges {
            let buckets = coarse_bucket(value(r.lo))..=coarse_bucket(value(r.hi));
            near[buckets].iter_mut().for_each(|n| *n = true);
        }
        Pass::Ranges { ranges, near }
    }
}

/// What a pass saw in one range.
#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Per bucket, for [`Look::Count`].
    counts: Vec<u64>,
    /// The keys in the range, for [`Look::Keep`].
    kept: Vec<u64>,
}

/// What one pass saw.
#[derive(Debug, Clone)]
pub struct Tally {
    /// Coarse bucket counts, for [`Pass::Coarse`].
    coarse: Vec<u64>,
    /// One per range, for [`Pass::Ranges`].
    parts: Vec<Part>,
    /// Values the caller left out (NaN residuals).
    skipped: u64,
    /// Room for the keys of a chunk, reused.
    scratch: Vec<u64>,
    /// Whether the coarse counts carry the [`Cache`]'s marks.
    marked: bool,
}

impl Tally {
    fn new(pass: &Pass) -> Tally {
        let (coarse, parts) = match pass {
            Pass::Coarse => (vec![0; BUCKETS], Vec::new()),
            Pass::Ranges { ranges, .. } => {
                let part = |r: &Range| Part {
                    counts: match r.look {
                        Look::Count { .. } => vec![0; BUCKETS],
                        Look::Keep => Vec::new(),
                    },
                    ..Part::default()
                };
                (Vec::new(), ranges.iter().map(part).collect())
            }
        };
        Tally {
            coarse,
            parts,
            skipped: 0,
            scratch: Vec::new(),
            marked: false,
        }
    }

    /// Counts or keeps each of `xs`, as `pass` says.
    pub fn add<V: Value>(&mut self, pass: &Pass, xs: impl Iterator<Item = V>) {
        match pass {
            Pass::Coarse => xs.for_each(|x| self.coarse[x.coarse()] += 1),
            Pass::Ranges { ranges, near } => {
                for x in xs.filter(|x| near[x.coarse()]) {
                    let k = key(x.to_f64());
                    for (r, part) in ranges.iter().zip(&mut self.parts) {
                        if (r.lo..=r.hi).contains(&k) {
                            match r.look {
                                Look::Count { shift } => {
                                    part.counts[((k - r.lo) >> shift) as usize] += 1
                                }
                                Look::Keep => part.kept.push(k),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Notes `n` values left out.
    pub fn skip(&mut self, n: u64) {
        self.skipped += n;
    }

    /// How many values were left out.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn merge(&mut self, other: Tally) {
        for (a, b) in self.coarse.iter_mut().zip(other.coarse) {
            *a += b & !cache::WANTED;
        }
        for (a, b) in self.parts.iter_mut().zip(other.parts) {
            for (x, y) in a.counts.iter_mut().zip(b.counts) {
                *x += y;
            }
            a.kept.extend(b.kept);
        }
        self.skipped += other.skipped;
    }

    /// The coarse histogram of a [`Pass::Coarse`].
    pub fn into_coarse(self) -> Coarse {
        Coarse::new(self.coarse)
    }
}

/// Tallies one pass from many threads: each chunk borrows a tally from a pool, so there are
/// never more tallies than chunks in flight.
pub struct Tallies<'a> {
    pass: &'a Pass,
    pool: Mutex<Vec<Tally>>,
}

impl<'a> Tallies<'a> {
    /// Empty tallies for `pass`.
    pub fn new(pass: &'a Pass) -> Tallies<'a> {
        Tallies {
            pass,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a tally of this pass to add to.
    pub fn with(&self, f: impl FnOnce(&Pass, &mut Tally)) {
        let lock = || self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let mut tally = lock().pop().unwrap_or_else(|| Tally::new(self.pass));
        f(self.pass, &mut tally);
        lock().push(tally);
    }

    /// Everything the pass saw.
    pub fn total(self) -> Tally {
        let mut all = Tally::new(self.pass);
        for t in self.pool.into_inner().unwrap_or_else(|e| e.into_inner()) {
            all.merge(t);
        }
        all
    }
}

/// A coarse histogram of all values, with the key range of each non-empty bucket.
#[derive(Debug, Clone)]
pub struct Coarse {
    /// Non-empty buckets in key order: (first key, last key, count).
    buckets: Vec<(u64, u64, u64)>,
    /// Per bucket.
    counts: Vec<u64>,
}

impl Coarse {
    fn new(counts: Vec<u64>) -> Coarse {
        let buckets = (counts.iter().enumerate())
            .filter(|(_, c)| **c > 0)
            .map(|(b, &c)| {
                let (first, end) = (coarse_start(b), coarse_start(b + 1));
                (first as u64, (end - 1) as u64, c)
            })
            .collect();
        Coarse { buckets, counts }
    }

    /// How many values were counted.
    pub fn total(&self) -> u64 {
        self.buckets.iter().map(|b| b.2).sum()
    }
}

/// Where the value at one rank is known to be.
#[derive(Debug, Clone, Copy)]
struct Target {
    /// Its rank among the values in `lo..=hi` (values outside stay where they are).
    rank: u64,
    lo: u64,
    hi: u64,
    /// Values in `lo..=hi`.
    count: u64,
    found: Option<u64>,
}

/// The search for the values at some ranks, narrowed pass by pass.
#[derive(Debug, Clone)]
pub struct Search {
    targets: Vec<Target>,
}

impl Search {
    /// Starts from the coarse histogram of the same values.
    pub fn new(coarse: &Coarse, ranks: &[u64]) -> Search {
        let targets = ranks
            .iter()
            .map(|&rank| {
                let mut below = 0;
                let mut at = coarse.buckets.len() - 1;
                for (i, b) in coarse.buckets.iter().enumerate() {
                    if below + b.2 > rank {
                        at = i;
                        break;
                    }
                    below += b.2;
                }
                let (lo, hi, count) = coarse.buckets[at];
                Target {
                    rank: rank - below,
                    lo,
                    hi,
                    count,
                    found: (lo == hi).then_some(lo),
                }
            })
            .collect();
        Search { targets }
    }

    /// The values at the ranks, once all are found.
    pub fn found(&self) -> Option<Vec<f64>> {
        self.targets.iter().map(|t| t.found.map(value)).collect()
    }

    /// The ranges the next pass must look at (none once all are found).
    pub fn ranges(&self) -> Vec<Range> {
        let mut ranges: Vec<Range> = Vec::new();
        for t in self.targets.iter().filter(|t| t.found.is_none()) {
            let r = Range::new(t.lo, t.hi, t.count);
            if !ranges.contains(&r) {
                ranges.push(r);
            }
        }
        ranges
    }

    /// Each rank's value lies between these two (for a median's bounds).
    pub fn bounds(&self) -> Vec<(f64, f64)> {
        let bound = |t: &Target| match t.found {
            Some(k) => (value(k), value(k)),
            None => (value(t.lo), value(t.hi)),
        };
        self.targets.iter().map(bound).collect()
    }

    /// Narrows the search with what a pass over `ranges` (from [`Search::ranges`]) saw.
    pub fn update(&mut self, ranges: &[Range], mut parts: Vec<Part>) -> Result<()> {
        for t in self.targets.iter_mut().filter(|t| t.found.is_none()) {
            let i = ranges
                .iter()
                .position(|r| (r.lo, r.hi) == (t.lo, t.hi))
                .context("internal error: a rank's range was not in the pass")?;
            let part = &mut parts[i];
            match ranges[i].look {
                Look::Keep => {
                    let k = nth(&mut part.kept, Some(t.rank));
                    t.found = Some(k.context("internal error: a kept range lost its rank")?);
                }
                Look::Count { shift } => narrow(t, &part.counts, shift)?,
            }
        }
        Ok(())
    }
}

/// Narrows `t` to the bucket of `counts` (buckets of `2^shift` keys from `t.lo`) that holds
/// its rank.
fn narrow(t: &mut Target, counts: &[u64], shift: u32) -> Result<()> {
    let mut below = 0;
    for (j, &c) in counts.iter().enumerate() {
        if below + c > t.rank {
            let lo = t.lo + ((j as u64) << shift);
            let hi = lo.saturating_add((1u64 << shift) - 1).min(t.hi);
            *t = Target {
                rank: t.rank - below,
                lo,
                hi,
                count: c,
                found: (lo == hi).then_some(lo),
            };
            return Ok(());
        }
        below += c;
    }
    anyhow::bail!("internal error: a counted range lost its rank")
}

/// The values whose deviations from the median may be the median deviation, chosen from the
/// coarse histogram of the values and bounds on the median, so that one pass (possibly the
/// pass that finds the median) can keep them all.
#[derive(Debug, Clone)]
pub struct Band {
    /// Key ranges of the values kept.
    ranges: Vec<Range>,
    /// How many values deviate less than any kept one may.
    inner: u64,
    ranks: Vec<u64>,
}

impl Band {
    /// The band for the deviations at `ranks` from a median within `median`, or `None` when
    /// it would hold too many values (or the bounds are not finite).
    pub fn plan(coarse: &Coarse, median: (f64, f64), ranks: &[u64]) -> Option<Band> {
        let (mlo, mhi) = median;
        if !(mlo.is_finite() && mhi.is_finite()) {
            return None;
        }
        // Rounding is monotone: x − m lies between these for every x in the bucket and
        // every median m in bounds, so |x − m| lies in `devs`. The values are residuals,
        // never NaN, so no bucket ends in a NaN.
        let devs: Vec<(f64, f64)> = coarse
            .buckets
            .iter()
            .map(|&(first, last, _)| {
                let (lo, hi) = (value(first) - mhi, value(last) - mlo);
                if lo >= 0.0 {
                    (lo, hi)
                } else if hi <= 0.0 {
                    (-hi, -lo)
                } else {
                    (0.0, hi.max(-lo))
                }
            })
            .collect();
        let weighted = |pick: fn(&(f64, f64)) -> f64, rank: u64| {
            let mut v: Vec<(f64, u64)> = (devs.iter().map(pick))
                .zip(coarse.buckets.iter().map(|b| b.2))
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut below = 0;
            v.into_iter().find(|(_, c)| {
                below += c;
                below > rank
            })
        };
        let least = weighted(|d| d.0, ranks[0])?.0;
        let most = weighted(|d| d.1, *ranks.last()?)?.0;
        let mut inner = 0;
        let mut kept = 0;
        let mut ranges: Vec<Range> = Vec::new();
        let mut extend = false;
        for (&(first, last, count), &(lo, hi)) in coarse.buckets.iter().zip(&devs) {
            let keep = lo <= most && hi >= least;
            if keep {
                kept += count;
                match ranges.last_mut() {
                    Some(r) if extend => r.hi = last,
                    _ => ranges.push(Range {
                        lo: first,
                        hi: last,
                        look: Look::Keep,
                    }),
                }
            } else if hi < least {
                inner += count;
            }
            extend = keep;
        }
        (kept <= KEEP_MAX).then(|| Band {
            ranges,
            inner,
            ranks: ranks.to_vec(),
        })
    }

    /// The key ranges a pass must keep.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    /// The deviations `|x − median|` at the ranks, from the values a pass kept in
    /// [`Band::ranges`].
    pub fn deviations(&self, parts: Vec<Part>, median: f64) -> Result<Vec<f64>> {
        let mut devs: Vec<u64> = (parts.into_iter().flat_map(|p| p.kept))
            .map(|k| key((value(k) - median).abs()))
            .collect();
        let at = |rank: &u64| {
            let k = nth(&mut devs, rank.checked_sub(self.inner));
            Ok(value(k.context("internal error: the band lost its rank")?))
        };
        self.ranks.iter().map(at).collect()
    }
}

/// The key at `rank` in the order of `keys` (which it reorders), if there is one.
fn nth(keys: &mut [u64], rank: Option<u64>) -> Option<u64> {
    let rank = usize::try_from(rank?).ok().filter(|&r| r < keys.len())?;
    Some(*keys.select_nth_unstable(rank).1)
}

/// The parts of a pass's tally.
pub fn parts(tally: Tally) -> Vec<Part> {
    tally.parts
}

#[cfg(test)]
mod tests;
