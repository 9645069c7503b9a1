//! Micro-benchmark of the CSV number parser, `parse_number`, over fields as polars, pandas and
//! numpy write them: shortest round-trip f64 (16–17 significant digits), negatives, exponents,
//! float32 columns, integers, and fields in double quotes.
//!
//! Run: `cargo bench -p huber-engine --bench csv_number` (add `-- --sample-count 20` for a
//! short run). Time is per batch of 4096 fields; the counters give fields (items) and bytes
//! per second, and ns per field is the time divided by 4096.
//!
//! Divan rather than criterion: see the comment at the top of `crates/huber-core/benches/kernel.rs`
//! (a much lighter build; items/s and bytes/s from counters; argument lists as attributes).

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use huber_core::xorshift::Rng;
use huber_engine::internals::parse_number;

fn main() {
    divan::main();
}

/// Fields per batch.
const FIELDS: usize = 4096;

/// The kinds of field, as [`fields`] writes them.
const KINDS: [&str; 6] = ["f64", "f64-exp", "f32", "int", "quoted", "mixed"];

/// A uniform draw in [0, 1).
fn unit(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

/// A value as predictions and targets hold them: a sign, 53 random bits of mantissa, and a
/// magnitude of 10^-`spread` to 10^`spread`.
fn value(rng: &mut Rng, spread: i32) -> f64 {
    let sign = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
    let exp = rng.below(2 * spread as usize + 1) as i32 - spread;
    sign * (1.0 + 9.0 * unit(rng)) * 10f64.powi(exp)
}

/// One field of `kind`, from a deterministic generator.
fn field(kind: &str, rng: &mut Rng) -> String {
    match kind {
        // Polars (ryu) and Python's repr write the shortest string that reads back to the same
        // f64: 16 or 17 significant digits for computed values, e.g. `-1.2478390263947723`.
        "f64" => format!("{}", value(rng, 3)),
        // Far from 1 they switch to an exponent: `-3.4817462839103855e-12`.
        "f64-exp" => format!("{:e}", value(rng, 40)),
        // A Float32 column: `0.84017336`, 6 to 9 digits.
        "f32" => format!("{}", value(rng, 2) as f32),
        // Labels and counts: `-17`, `40213`.
        "int" => format!("{}", rng.below(200_000) as i64 - 100_000),
        // `quote_style="always"` (polars) or `quoting=csv.QUOTE_ALL` (pandas): `"0.125…"`.
        "quoted" => format!("\"{}\"", value(rng, 3)),
        // A bit of everything, in random order, so that no branch is predicted.
        "mixed" => {
            let kinds = &KINDS[..5];
            field(kinds[rng.below(kinds.len())], rng)
        }
        _ => unreachable!("unknown kind {kind}"),
    }
}

/// A batch of fields of `kind`, each checked to parse to the number it was written from.
fn fields(kind: &str) -> Vec<String> {
    let mut rng = Rng(0x853c_49e6_748f_ea9b);
    let fields: Vec<String> = (0..FIELDS).map(|_| field(kind, &mut rng)).collect();
    for f in &fields {
        let plain = f.trim_matches('"');
        let want: f64 = plain.parse().expect("a number");
        assert_eq!(parse_number(f), Some(want), "{f}");
    }
    fields
}

/// `parse_number` over a batch of fields of one kind.
#[divan::bench(args = KINDS)]
fn parse(bencher: Bencher, kind: &str) {
    let fields = fields(kind);
    let bytes: usize = fields.iter().map(String::len).sum();
    bencher
        .counter(ItemsCount::new(FIELDS))
        .counter(BytesCount::new(bytes))
        .bench_local(|| {
            let mut sum = 0.0;
            for f in &fields {
                sum += parse_number(divan::black_box(f)).unwrap_or(0.0);
            }
            sum
        });
}
