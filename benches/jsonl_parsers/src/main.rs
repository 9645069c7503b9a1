//! JSON Lines parsers compared on one thread, on the lines huber reads: the mean of two fields
//! of every line, by
//! - `scanner`: huber's own scanner of the selected fields (its source compiled in, with the
//!   CSV reader's number parser it uses);
//! - `serde_json`: a `#[derive(Deserialize)]` struct of the two fields (others skipped by serde,
//!   `float_roundtrip` for correctly rounded numbers);
//! - `simd-json`: the same struct through `simd_json::serde::from_slice` (on a copy of the line,
//!   which it parses in place).
//!
//! Each parser reads every line of FILE; the parsers run in turn, ROUNDS times, and the median
//! per parser is printed with its bytes per second and whether its values equal the scanner's
//! bit for bit.
//!
//! Run: `cargo run --release --manifest-path benches/jsonl_parsers/Cargo.toml -- FILE [ROUNDS]`

// The engine's sources, and as much of its module tree as the scanner names.
#[path = "../../../crates/huber-engine/src/input/csv/number.rs"]
#[allow(dead_code)]
mod number;
#[path = "../../../crates/huber-engine/src/input/jsonl/scan.rs"]
#[allow(dead_code)]
mod scan;
mod input {
    pub mod csv {
        pub(crate) use crate::number::{json_decimal, number};
    }
}

use std::time::Instant;

use scan::{Fields, Kind, Row};
use serde::Deserialize;

#[derive(Deserialize)]
struct Pair {
    pred: Option<f64>,
    target: Option<f64>,
}

fn scanner(lines: &[&[u8]], out: &mut Vec<f64>) {
    let keys = [("pred".to_string(), Kind::Number), ("target".to_string(), Kind::Number)];
    let fields = Fields::new(&keys);
    let mut row = Row::new(&fields);
    for l in lines {
        scan::line(l, &fields, &mut row).expect("a good line");
        out.push(row.values[0]);
        out.push(row.values[1]);
    }
}

fn serde(lines: &[&[u8]], out: &mut Vec<f64>) {
    for l in lines {
        let p: Pair = serde_json::from_slice(l).expect("a good line");
        out.push(p.pred.unwrap_or(f64::NAN));
        out.push(p.target.unwrap_or(f64::NAN));
    }
}

fn simd(lines: &[&[u8]], out: &mut Vec<f64>) {
    let mut buf = Vec::new();
    for l in lines {
        buf.clear();
        buf.extend_from_slice(l);
        let p: Pair = simd_json::serde::from_slice(&mut buf).expect("a good line");
        out.push(p.pred.unwrap_or(f64::NAN));
        out.push(p.target.unwrap_or(f64::NAN));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&args[1]).expect("FILE");
    let rounds: usize = args.get(2).map_or(5, |r| r.parse().expect("ROUNDS"));
    let lines: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    type Parser = fn(&[&[u8]], &mut Vec<f64>);
    let parsers: [(&str, Parser); 3] = [("scanner", scanner), ("serde_json", serde), ("simd-json", simd)];
    let mut times = vec![Vec::new(); parsers.len()];
    let mut values = vec![Vec::new(); parsers.len()];
    for _ in 0..rounds {
        for (i, (_, parse)) in parsers.iter().enumerate() {
            let mut out = Vec::with_capacity(lines.len() * 2);
            let start = Instant::now();
            parse(&lines, &mut out);
            times[i].push(start.elapsed().as_secs_f64());
            values[i] = out;
        }
    }
    println!("{} lines, {} bytes, {rounds} rounds, one thread", lines.len(), data.len());
    println!("parser\tmedian s\tMB/s\t× scanner\tsame bits as scanner");
    let median = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let base = median(&mut times[0].clone());
    for (i, (name, _)) in parsers.iter().enumerate() {
        let m = median(&mut times[i]);
        let same = values[i]
            .iter()
            .zip(&values[0])
            .filter(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan())
            .count();
        println!(
            "{name}\t{m:.3}\t{:.0}\t{:.2}\t{same} of {}",
            data.len() as f64 / m / 1e6,
            m / base,
            values[0].len()
        );
    }
}
