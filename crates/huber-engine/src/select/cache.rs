//! What the coarse pass keeps beside its counts, so that the pass after it can often run from
//! memory instead of reading the inputs again.
//!
//! The first values are kept whole, as a sample; from the sample's median and median
//! deviation (and how far those may be off) comes a guess of the coarse buckets that the next
//! pass will look at, and from then on every value in those buckets is kept. A bucket is
//! complete when all its values were kept, which its count tells; a pass whose ranges touch
//! only complete buckets sees the same values in memory. A wrong guess costs a pass, never a
//! wrong result.

use std::sync::{Mutex, OnceLock};

use super::{BUCKETS, Coarse, Pass, Tally, Value, coarse_bucket, key, value};

/// Values kept whole before the guess (4 MiB of keys).
const SAMPLE: usize = if cfg!(test) { 64 } else { 1 << 19 };
/// Most values kept in all (12 MiB of keys); beyond, the cache gives up.
const CACHE_MAX: usize = if cfg!(test) { 256 } else { 3 << 19 };
/// How far, in standard errors of a sample quantile, the guess reaches.
const REACH: f64 = 2.5;
/// Buckets added on either side of each guessed run: bands are planned a bucket wide.
const MARGIN: usize = 1;
/// The bit of a tally's coarse count that marks a guessed bucket: the count and the mark are
/// one load, as this is the pass every run makes.
pub(super) const WANTED: u64 = 1 << 63;

/// The values kept during one coarse pass, from many threads.
#[derive(Debug, Default)]
pub struct Cache {
    /// The guessed buckets, once the sample is complete.
    wanted: OnceLock<Vec<bool>>,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    keys: Vec<u64>,
    /// More than [`CACHE_MAX`] were wanted: nothing is kept.
    full: bool,
}

impl Cache {
    /// Counts a chunk of values in `tally`, of a [`Pass::Coarse`], and keeps what it wants
    /// of them. NaNs are left out, and counted as skipped.
    pub fn add<V: Value>(&self, tally: &mut Tally, xs: &[V]) {
        let wanted = self.wanted.get();
        if let (Some(wanted), false) = (wanted, tally.marked) {
            for (c, _) in tally.coarse.iter_mut().zip(wanted).filter(|(_, w)| **w) {
                *c |= WANTED;
            }
            tally.marked = true;
        }
        // A slice, not the Vec: its length then stays in a register across the pushes.
        let (counts, keys) = (tally.coarse.as_mut_slice(), &mut tally.scratch);
        keys.clear();
        // A plain loop over the slice, not an iterator chain: this is the loop every run
        // makes over every residual, and it compiles to a tight one.
        let mut nans = 0;
        let all = wanted.is_none();
        for &x in xs {
            if x.is_nan() {
                nans += 1;
                continue;
            }
            let c = &mut counts[x.coarse()];
            *c += 1;
            if all || *c & WANTED != 0 {
                keys.push(key(x.to_f64()));
            }
        }
        tally.skipped += nans;
        if !keys.is_empty() {
            self.keep(keys);
        }
    }

    fn keep(&self, keys: &mut Vec<u64>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.full || kept.keys.len() + keys.len() > CACHE_MAX {
            *kept = Kept {
                keys: Vec::new(),
                full: true,
            };
            return;
        }
        kept.keys.append(keys);
        if self.wanted.get().is_none() && kept.keys.len() >= SAMPLE {
            let wanted = guess(&mut kept.keys);
            // Values of other buckets may go: those buckets cannot be complete anyway.
            kept.keys.retain(|&k| wanted[coarse_bucket(value(k))]);
            self.wanted.get_or_init(|| wanted);
        }
    }

    /// What was kept, checked against the pass's coarse counts.
    pub fn finish(self, coarse: &Coarse) -> Option<Replay> {
        let kept = self.kept.into_inner().unwrap_or_else(|e| e.into_inner());
        if kept.full {
            return None;
        }
        let mut counts = vec![0u64; BUCKETS];
        for &k in &kept.keys {
            counts[coarse_bucket(value(k))] += 1;
        }
        let complete = (counts.iter().zip(&coarse.counts))
            .map(|(kept, all)| kept == all)
            .collect();
        Some(Replay {
            complete,
            keys: kept.keys,
        })
    }
}

/// The kept values of complete buckets, to replay passes from.
#[derive(Debug)]
pub struct Replay {
    complete: Vec<bool>,
    keys: Vec<u64>,
}

impl Replay {
    /// The tally of `pass` from memory, if every value it looks at was kept: over the values,
    /// or with `median` over their deviations from it (which only all values can give).
    pub fn tally(&self, pass: &Pass, median: Option<f64>) -> Option<Tally> {
        let all = self.complete.iter().all(|c| *c);
        let covered = match pass {
            Pass::Ranges { near, .. } if median.is_none() => {
                near.iter().zip(&self.complete).all(|(n, c)| !n || *c)
            }
            _ => all,
        };
        covered.then(|| {
            let mut t = Tally::new(pass);
            let values = self.keys.iter().map(|&k| value(k));
            match median {
                Some(m) => t.add(pass, values.map(|x| (x - m).abs())),
                None => t.add(pass, values),
            }
            t
        })
    }
}

/// The buckets that, judged from a sample, hold the median and the values whose deviation
/// from it is near the median deviation.
fn guess(sample: &mut [u64]) -> Vec<bool> {
    let n = sample.len();
    // A sample quantile's rank is off by about √n / 2.
    let reach = (REACH * (n as f64).sqrt() / 2.0) as usize + 1;
    let mid = n / 2;
    let mut at = |rank: usize| value(*sample.select_nth_unstable(rank.min(n - 1)).1);
    let (mlo, median, mhi) = (at(mid.saturating_sub(reach)), at(mid), at(mid + reach));
    let mut devs: Vec<f64> = sample.iter().map(|&k| (value(k) - median).abs()).collect();
    let mut dev_at = |rank: usize| {
        *devs
            .select_nth_unstable_by(rank.min(n - 1), f64::total_cmp)
            .1
    };
    let (dlo, dhi) = (dev_at(mid.saturating_sub(reach)), dev_at(mid + reach));
    let mut wanted = vec![false; BUCKETS];
    for (a, b) in [(mlo, mhi), (mlo - dhi, mhi - dlo), (mlo + dlo, mhi + dhi)] {
        let (a, b) = (coarse_bucket(a), coarse_bucket(b));
        let run = a.min(b).saturating_sub(MARGIN)..=(a.max(b) + MARGIN).min(BUCKETS - 1);
        wanted[run].iter_mut().for_each(|w| *w = true);
    }
    wanted
}
