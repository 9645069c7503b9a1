//! Micro-benchmarks of the loss kernels and the chunk sum: `Loss::forward` over one engine chunk
//! (16 Ki elements, `huber_engine::internals::CHUNK`) of f32 and f64, `Accumulator::add` over
//! the losses it wrote, and the two together, as the engine runs them per chunk.
//!
//! Run: `cargo bench -p huber-core --bench kernel` (add `-- --sample-count 20` for a short
//! run, or a name filter such as `-- forward`). Time is per chunk; the item throughput is
//! elements per second, and ns per element is the time divided by 16384.
//!
//! Divan rather than criterion: it builds with five small crates beside clap (which the
//! command line already compiles), where criterion brings plotters, ciborium, tinytemplate,
//! itertools, regex and rayon; it reports items/s per benchmark from one counter, and takes
//! generic types and argument lists as attributes.

use divan::Bencher;
use divan::counter::ItemsCount;
use huber_core::float::Float;
use huber_core::loss::{Loss, LossKind};
use huber_core::reduce::Accumulator;
use huber_core::xorshift::Rng;

fn main() {
    divan::main();
}

/// Elements per chunk, as the engine cuts them (`huber_engine::internals::CHUNK`).
const CHUNK: usize = 1 << 14;

/// Every loss, by the name `--loss` takes; the parameterised ones at their default 1.0.
const LOSSES: [&str; 6] = [
    "huber",
    "smooth-l1",
    "mse",
    "l1",
    "log-cosh",
    "pseudo-huber",
];

fn loss(name: &str) -> Loss {
    LossKind::from_name(name)
        .and_then(|k| k.with_param(None).ok())
        .expect("a loss name")
}

/// A chunk of predictions and targets as a regression model leaves them: targets spread over a
/// few units, residuals about normal with σ = 1 (so that about a third of them fall beyond δ =
/// 1 and the kernels' branches are taken unpredictably), and one in 64 an outlier up to ±50.
fn chunk<T: Float>(seed: u64) -> (Vec<T>, Vec<T>) {
    let mut rng = Rng(seed);
    let mut unit = move || (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
    let mut pred = Vec::with_capacity(CHUNK);
    let mut target = Vec::with_capacity(CHUNK);
    for _ in 0..CHUNK {
        let t = 10.0 * unit() - 5.0;
        // Irwin–Hall: twelve uniforms less 6 is close to a standard normal.
        let mut r: f64 = (0..12).map(|_| unit()).sum::<f64>() - 6.0;
        if unit() < 1.0 / 64.0 {
            r = 100.0 * unit() - 50.0;
        }
        target.push(T::from_f64(t));
        pred.push(T::from_f64(t + r));
    }
    (pred, target)
}

/// `Loss::forward` alone: the element losses and the linear count of one chunk.
#[divan::bench(types = [f32, f64], args = LOSSES)]
fn forward<T: Float>(bencher: Bencher, name: &str) {
    let loss = loss(name);
    let (pred, target) = chunk::<T>(0x9e37_79b9_7f4a_7c15);
    let mut out = vec![T::ZERO; CHUNK];
    bencher.counter(ItemsCount::new(CHUNK)).bench_local(|| {
        divan::black_box(loss).forward(divan::black_box(&pred), divan::black_box(&target), &mut out)
    });
}

/// `Accumulator::add` alone: the exact (double-double) sum of one chunk of losses.
#[divan::bench(types = [f32, f64])]
fn chunk_sum<T: Float>(bencher: Bencher) {
    let (pred, target) = chunk::<T>(0x2545_f491_4f6c_dd1d);
    let mut losses = vec![T::ZERO; CHUNK];
    let linear = loss("huber").forward(&pred, &target, &mut losses);
    bencher.counter(ItemsCount::new(CHUNK)).bench_local(|| {
        let mut acc = Accumulator::default();
        acc.add(divan::black_box(&losses), linear);
        acc
    });
}

/// `Loss::forward` then `Accumulator::add`: the whole per-chunk work of a plain reduction.
#[divan::bench(types = [f32, f64], args = LOSSES)]
fn forward_and_sum<T: Float>(bencher: Bencher, name: &str) {
    let loss = loss(name);
    let (pred, target) = chunk::<T>(0x9e37_79b9_7f4a_7c15);
    let mut out = vec![T::ZERO; CHUNK];
    bencher.counter(ItemsCount::new(CHUNK)).bench_local(|| {
        let linear = divan::black_box(loss).forward(
            divan::black_box(&pred),
            divan::black_box(&target),
            &mut out,
        );
        let mut acc = Accumulator::default();
        acc.add(&out, linear);
        acc
    });
}
