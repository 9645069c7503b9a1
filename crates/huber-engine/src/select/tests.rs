use super::*;
use crate::xorshift::Rng;

/// The draws these tests need, on the shared generator.
trait Draw {
    fn value(&mut self) -> f64;
}

impl Draw for Rng {
    /// Values with ties, both zeros, infinities, subnormals and a wide range of magnitudes.
    fn value(&mut self) -> f64 {
        match self.next() % 10 {
            0 => [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY][(self.next() % 4) as usize],
            1 => (self.next() % 5) as f64 - 2.0,
            2 => {
                f64::from_bits(self.next() % 1000)
                    * if self.next().is_multiple_of(2) {
                        1.0
                    } else {
                        -1.0
                    }
            }
            3 => f64::from(f32::from_bits(self.next() as u32 & 0xbfff_ffff)),
            _ => (self.next() as i64 as f64) * 1e-18,
        }
    }
}

/// Runs the coarse pass and then the search's passes over `data` in memory.
fn select(data: &[f64], ranks: &[u64]) -> (Vec<f64>, usize) {
    let tally_of = |pass: &Pass| {
        let tallies = Tallies::new(pass);
        // Two halves in two tallies, as two threads would.
        for half in data.chunks(data.len().div_ceil(2).max(1)) {
            tallies.with(|pass, t| t.add(pass, half.iter().copied()));
        }
        tallies.total()
    };
    let mut search = Search::new(&tally_of(&Pass::Coarse).into_coarse(), ranks);
    let mut passes = 1;
    while search.found().is_none() {
        let ranges = search.ranges();
        search
            .update(&ranges, parts(tally_of(&Pass::ranges(ranges.clone()))))
            .unwrap();
        passes += 1;
        assert!(
            passes <= 6,
            "a search takes at most the coarse pass and 4 counting passes"
        );
    }
    (search.found().unwrap(), passes)
}

fn sorted(data: &[f64]) -> Vec<f64> {
    let mut v = data.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn keys_order_as_total_cmp() {
    let mut rng = Rng(7);
    let mut xs: Vec<f64> = (0..2000).map(|_| rng.value()).collect();
    xs.extend([f64::NAN, -f64::NAN, f64::MIN_POSITIVE, f64::MAX, f64::MIN]);
    for w in xs.windows(2) {
        let (a, b) = (w[0], w[1]);
        assert_eq!(key(a).cmp(&key(b)), a.total_cmp(&b), "{a:e} {b:e}");
        assert_eq!(value(key(a)).to_bits(), a.to_bits());
    }
}

#[test]
fn coarse_buckets_are_key_ranges() {
    let mut rng = Rng(11);
    let mut xs: Vec<f64> = (0..3000).map(|_| rng.value()).collect();
    xs.sort_by(f64::total_cmp);
    for w in xs.windows(2) {
        assert!(
            coarse_bucket(w[0]) <= coarse_bucket(w[1]),
            "{:e} {:e}",
            w[0],
            w[1]
        );
    }
    for &x in &xs {
        let b = coarse_bucket(x);
        let (first, end) = (coarse_start(b), coarse_start(b + 1));
        assert!(
            first <= u128::from(key(x)) && u128::from(key(x)) < end,
            "{x:e}"
        );
        assert_eq!(coarse_bucket(value(first as u64)), b);
        if first > 0 {
            assert!(coarse_bucket(value(first as u64 - 1)) < b);
        }
    }
}

#[test]
fn finds_the_same_order_statistics_as_a_sort() {
    let mut rng = Rng(3);
    for n in [1usize, 2, 3, 4, 5, 8, 9, 17, 100, 101, 1000, 4001] {
        let data: Vec<f64> = (0..n).map(|_| rng.value()).collect();
        let all = sorted(&data);
        let ranks = [0, n as u64 / 3, n as u64 / 2, n as u64 - 1];
        let (got, _) = select(&data, &ranks);
        for (r, g) in ranks.iter().zip(got) {
            assert_eq!(g.to_bits(), all[*r as usize].to_bits(), "n {n} rank {r}");
        }
    }
}

#[test]
fn ties_and_zeros_of_both_signs() {
    let data = [
        0.0, -0.0, 0.0, -0.0, -0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0,
    ];
    let all = sorted(&data);
    for r in 0..data.len() as u64 {
        let (got, _) = select(&data, &[r]);
        assert_eq!(got[0].to_bits(), all[r as usize].to_bits(), "rank {r}");
    }
    // Many equal values: no range gets small enough to keep, the counting narrows to one key.
    let same = vec![2.5; 100];
    let (got, passes) = select(&same, &[49, 50]);
    assert_eq!(got, [2.5, 2.5]);
    assert!(passes > 2, "{passes} passes");
    let mut near: Vec<f64> = (0..100)
        .map(|i| 1.0 + f64::EPSILON * f64::from(i % 3))
        .collect();
    near.push(-7.0);
    let (got, _) = select(&near, &[50]);
    assert_eq!(got[0], sorted(&near)[50]);
}

#[test]
fn medians_as_numpy() {
    assert_eq!(middle_ranks(1), [0]);
    assert_eq!(middle_ranks(4), [1, 2]);
    assert_eq!(median_of(&[2.0]), 2.0);
    assert_eq!(median_of(&[2.0, 3.0]), 2.5);
    assert!(median_of(&[f64::NEG_INFINITY, f64::INFINITY]).is_nan());
}

#[test]
fn a_band_holds_the_deviations_at_the_ranks() {
    let mut rng = Rng(5);
    for n in [3usize, 10, 64, 200] {
        let data: Vec<f64> = (0..n)
            .map(|_| (rng.next() % 1000) as f64 / 64.0 - 3.0)
            .collect();
        let coarse = {
            let mut t = Tally::new(&Pass::Coarse);
            t.add(&Pass::Coarse, data.iter().copied());
            t.into_coarse()
        };
        let ranks = middle_ranks(n as u64);
        let median = median_of(
            &ranks
                .iter()
                .map(|&r| sorted(&data)[r as usize])
                .collect::<Vec<_>>(),
        );
        let devs = sorted(&data.iter().map(|x| (x - median).abs()).collect::<Vec<_>>());
        // Bounds around the median, as while it is still being searched.
        for bounds in [(median, median), (median - 0.25, median + 0.125)] {
            let Some(band) = Band::plan(&coarse, bounds, &ranks) else {
                continue;
            };
            let pass = Pass::ranges(band.ranges().to_vec());
            let mut t = Tally::new(&pass);
            t.add(&pass, data.iter().copied());
            let got = band.deviations(parts(t), median).unwrap();
            let want: Vec<f64> = ranks.iter().map(|&r| devs[r as usize]).collect();
            assert_eq!(got, want, "n {n} bounds {bounds:?}");
        }
    }
}
