//! `--delta auto`: δ from the median absolute deviation of the residuals, found exactly in a
//! few passes over the inputs ([`crate::select`]) instead of holding every residual.
//!
//! The passes, for typical data: one counts the residuals in coarse buckets, and keeps those
//! near the median and near the median ± the median deviation as guessed from the first
//! residuals; from them, in memory, come the few residuals that may be the median and those
//! whose deviation may be the median deviation; then the main pass computes the loss. When
//! the guess was wrong, a second pass keeps them instead; data whose buckets are too full for
//! that (many equal residuals, a median far from 0 compared with the spread) take a few more.

use anyhow::{Result, ensure};

use crate::array::Values;
use crate::pipeline::{NanPolicy, Observer};
use crate::select::{
    Band, Cache, Coarse, Part, Pass, Replay, Search, Tallies, Tally, Value, median_of,
    middle_ranks, parts,
};

/// A band and what a pass kept of it.
type Banded = (Band, Vec<Part>);

/// Runs one pass over the residuals, handing each chunk to the observer.
pub type Scan<'a> = &'a mut dyn FnMut(Observer<'_>) -> Result<()>;

/// δ = 1.345 · 1.4826 · MAD(r): the 95 %-efficiency Huber threshold on the residuals' robust
/// scale. The median is numpy's (the mean of the two middle values for an even count).
/// `scan` is called once per pass.
pub fn auto_delta(nan: NanPolicy, scan: Scan<'_>) -> Result<f64> {
    let cache = Cache::default();
    let first = run_pass(scan, &Pass::Coarse, None, Some(&cache))?;
    if first.skipped() > 0 {
        ensure!(
            nan == NanPolicy::Omit,
            "--delta auto: some residuals are NaN, so their median is undefined; use --nan omit to leave them out, or give --delta"
        );
    }
    let coarse = first.into_coarse();
    ensure!(
        coarse.total() > 0,
        "--delta auto: there are no residuals to take the median of; give --delta"
    );
    let ranks = middle_ranks(coarse.total());
    let mut passes = Passes {
        scan,
        replay: cache.finish(&coarse),
    };
    let (median, banded) = find_median(&mut passes, &coarse, &ranks)?;
    let mad = median_deviation(&mut passes, &coarse, &ranks, median, banded)?;
    check_scale(mad)?;
    Ok(1.345 * 1.4826 * mad)
}

/// Refuses a median absolute deviation that gives no scale, saying why: 0 when more than half
/// of the residuals are equal, NaN or infinite when more than half of them are infinite or lie
/// so far from the median that the difference overflows.
fn check_scale(mad: f64) -> Result<()> {
    let why = if mad == 0.0 {
        "more than half of the residuals are equal"
    } else {
        "more than half of the residuals are infinite or overflow when the median is taken from them"
    };
    ensure!(
        mad > 0.0 && mad.is_finite(),
        "--delta auto: the median absolute deviation of the residuals is {mad} ({why}), so it gives no scale; give --delta explicitly"
    );
    Ok(())
}

/// The passes after the first: from memory when the first kept all they look at (for inputs
/// of up to a few hundred thousand elements, all of them).
struct Passes<'a> {
    scan: Scan<'a>,
    replay: Option<Replay>,
}

impl Passes<'_> {
    /// Tallies the residuals, or with `median` their deviations from it.
    fn run(&mut self, pass: &Pass, median: Option<f64>) -> Result<Tally> {
        match self.replay.as_ref().and_then(|r| r.tally(pass, median)) {
            Some(tally) => Ok(tally),
            None => run_pass(self.scan, pass, median, None),
        }
    }
}

/// One pass over the inputs: tallies the residuals (NaNs are skipped and counted), or with
/// `median` their deviations from it; `cache`, on the coarse pass, keeps what it wants.
fn run_pass(
    scan: Scan<'_>,
    pass: &Pass,
    median: Option<f64>,
    cache: Option<&Cache>,
) -> Result<Tally> {
    let tallies = Tallies::new(pass);
    scan(&|chunk: Values<'_>| {
        tallies.with(|pass, t| match chunk {
            Values::F16(v) => {
                let wide: Vec<f32> = v.iter().map(|&x| f32::from(x)).collect();
                add(pass, t, &wide, median, cache)
            }
            Values::F32(v) => add(pass, t, v, median, cache),
            Values::F64(v) => add(pass, t, v, median, cache),
        })
    })?;
    Ok(tallies.total())
}

/// Adds the residuals `rs` (skipping NaNs), or with `median` their deviations from it.
fn add<V: Value>(pass: &Pass, t: &mut Tally, rs: &[V], median: Option<f64>, cache: Option<&Cache>) {
    if let (None, Some(cache)) = (median, cache) {
        return cache.add(t, rs);
    }
    // NaNs are counted while the values stream past: one read of the chunk.
    let mut nans = 0;
    let kept = rs.iter().copied().filter(|r| {
        let nan = r.is_nan();
        nans += u64::from(nan);
        !nan
    });
    match median {
        Some(m) => t.add(pass, kept.map(|r| (r.to_f64() - m).abs())),
        None => t.add(pass, kept),
    }
    t.skip(nans);
}

/// Narrows `search` pass by pass until it has found its values.
fn finish(passes: &mut Passes<'_>, mut search: Search, median: Option<f64>) -> Result<Vec<f64>> {
    loop {
        if let Some(found) = search.found() {
            return Ok(found);
        }
        let ranges = search.ranges();
        let seen = passes.run(&Pass::ranges(ranges.clone()), median)?;
        search.update(&ranges, parts(seen))?;
    }
}

/// The median of the residuals. When the median is not found from the coarse counts alone,
/// the pass that narrows it also keeps the band of residuals the median deviation will come
/// from, if that band is small enough; they are returned with it.
fn find_median(
    passes: &mut Passes<'_>,
    coarse: &Coarse,
    ranks: &[u64],
) -> Result<(f64, Option<Banded>)> {
    let mut search = Search::new(coarse, ranks);
    let mut banded = None;
    if search.found().is_none() {
        let band = Band::plan(coarse, median_bounds(&search), ranks);
        if let Some(band) = band {
            let ranges = search.ranges();
            let all = [ranges.as_slice(), band.ranges()].concat();
            let mut seen = parts(passes.run(&Pass::ranges(all), None)?);
            let kept = seen.split_off(ranges.len());
            search.update(&ranges, seen)?;
            banded = Some((band, kept));
        }
    }
    let middle = finish(passes, search, None)?;
    Ok((median_of(&middle), banded))
}

/// Bounds on the median while the search for the middle values goes on.
fn median_bounds(search: &Search) -> (f64, f64) {
    let bounds = search.bounds();
    let lows: Vec<f64> = bounds.iter().map(|b| b.0).collect();
    let highs: Vec<f64> = bounds.iter().map(|b| b.1).collect();
    // The median is a monotone function of the middle values.
    (median_of(&lows), median_of(&highs))
}

/// The median of `|r − median|`: from the band kept while finding the median, or a band kept
/// now, or when no band is small enough, by searching the deviations like any values.
fn median_deviation(
    passes: &mut Passes<'_>,
    coarse: &Coarse,
    ranks: &[u64],
    median: f64,
    banded: Option<Banded>,
) -> Result<f64> {
    if let Some((band, kept)) = banded {
        return Ok(median_of(&band.deviations(kept, median)?));
    }
    if let Some(band) = Band::plan(coarse, (median, median), ranks) {
        let seen = passes.run(&Pass::ranges(band.ranges().to_vec()), None)?;
        return Ok(median_of(&band.deviations(parts(seen), median)?));
    }
    let devs = passes.run(&Pass::Coarse, Some(median))?.into_coarse();
    let middle = finish(passes, Search::new(&devs, ranks), Some(median))?;
    Ok(median_of(&middle))
}

#[cfg(test)]
mod tests;
