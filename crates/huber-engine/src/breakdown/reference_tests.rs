//! The breakdowns against the references of `fixtures/breakdowns/generate.py` (numpy's
//! `mean(axis=…)`, the Keras weighted mean, pandas' `groupby`, `argsort` top-k).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Chunk;
use super::axis::{AxisLayout, AxisSums, normalize_axes, unravel};
use super::group::{GroupTable, Key};
use super::keys::{CsvKeys, KeyReader, NpyKeys, key_repeat};
use super::top::TopK;
use super::weighted::WeightedMean;
use crate::dtype::Precision;
use crate::input::csv::{HeaderMode, scan};
use crate::loss::Loss;
use crate::npy::read_header;
use crate::reduce::Reduction;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/breakdowns")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(dir().join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f32_npy(name: &str) -> (Vec<usize>, Vec<f32>) {
    let mut r = BufReader::new(File::open(dir().join(name)).unwrap());
    let header = read_header(&mut r).unwrap();
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).unwrap();
    let values = bytes[..header.len() * 4]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (header.shape, values)
}

fn loss_of(case: &Value) -> Loss {
    match case["loss"].as_str().unwrap() {
        "huber" => Loss::huber(case["delta"].as_f64().unwrap()).unwrap(),
        "mse" => Loss::Mse,
        "l1" => Loss::L1,
        other => panic!("loss {other}"),
    }
}

fn num(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// Inputs of one loss, with the losses computed the way the engine computes them.
struct Losses<T> {
    pred: Vec<T>,
    target: Vec<T>,
    weight: Option<Vec<T>>,
    losses: Vec<T>,
    threshold: Option<T>,
}

impl<T: crate::float::Float> Losses<T> {
    fn new(loss: Loss, pred: Vec<T>, target: Vec<T>, weight: Option<Vec<T>>) -> Losses<T> {
        let mut losses = vec![T::ZERO; pred.len()];
        loss.forward(&pred, &target, &mut losses);
        if let Some(w) = &weight {
            for (l, &w) in losses.iter_mut().zip(w) {
                *l = *l * w;
            }
        }
        let threshold = loss.threshold().map(T::from_f64);
        Losses {
            pred,
            target,
            weight,
            losses,
            threshold,
        }
    }

    /// Chunks of `size` elements, as the engine would hand them out.
    fn chunks(&self, size: usize, omit_nan: bool) -> Vec<Chunk<'_, T>> {
        (0..self.losses.len())
            .step_by(size)
            .map(|a| {
                let b = (a + size).min(self.losses.len());
                Chunk {
                    offset: a,
                    pred: &self.pred[a..b],
                    target: &self.target[a..b],
                    weight: self.weight.as_ref().map(|w| &w[a..b]),
                    losses: &self.losses[a..b],
                    threshold: self.threshold,
                    omit_nan,
                    linear: None,
                }
            })
            .collect()
    }
}

#[test]
fn per_axis_means_match_numpy_exactly() {
    let (shape, pred) = f32_npy("pred.npy");
    let (_, target) = f32_npy("target.npy");
    for case in manifest()["axis"].as_array().unwrap() {
        let l = Losses::new(loss_of(case), pred.clone(), target.clone(), None);
        let axes: Vec<i64> = serde_json::from_value(case["axis"].clone()).unwrap();
        let layout = AxisLayout::new(&shape, &normalize_axes(&axes, shape.len()).unwrap());
        let kept: Vec<usize> = serde_json::from_value(case["shape"].clone()).unwrap();
        assert_eq!(layout.kept_shape(), kept);
        for size in [97, 256, 16_384] {
            let mut sums = AxisSums::new(layout.clone());
            for c in l.chunks(size, false) {
                let p = sums.partial(&c);
                sums.combine(p);
            }
            for (k, acc) in sums.cells().iter().enumerate() {
                let mean = acc.reduce(Reduction::Mean);
                assert_eq!(acc.count(), case["count"][k].as_u64().unwrap());
                assert_eq!(mean, num(&case["exact"][k]), "{case} cell {k}");
                assert_eq!(Precision::F32.round(mean), num(&case["result"][k]));
            }
        }
    }
}

#[test]
fn weighted_means_match_the_keras_formula() {
    let (_, pred) = f32_npy("pred.npy");
    let (_, target) = f32_npy("target.npy");
    let (_, weight) = f32_npy("weight.npy");
    for case in manifest()["weighted_mean"].as_array().unwrap() {
        let l = Losses::new(
            loss_of(case),
            pred.clone(),
            target.clone(),
            Some(weight.clone()),
        );
        let mut w = WeightedMean::default();
        for c in l.chunks(300, false) {
            w.combine(&crate::breakdown::weighted::partial(&c));
        }
        assert_eq!(w.weight_sum(), num(&case["weight_sum"]));
        assert_eq!(w.value(), num(&case["exact"]), "{case}");
        assert_eq!(Precision::F32.round(w.value()), num(&case["result"]));
    }
}

#[test]
fn labels_per_sample_match_a_groupby() {
    let (shape, pred) = f32_npy("pred.npy");
    let (_, target) = f32_npy("target.npy");
    for case in manifest()["by_labels"].as_array().unwrap() {
        let l = Losses::new(loss_of(case), pred.clone(), target.clone(), None);
        let file = Box::new(BufReader::new(
            File::open(dir().join("labels.npy")).unwrap(),
        ));
        let mut labels = NpyKeys::open(file, "labels.npy").unwrap();
        let repeat = key_repeat(labels.shape(), &shape).unwrap();
        let keys = labels.next_keys(4).unwrap();
        let mut table = GroupTable::new(labels.kind());
        for c in l.chunks(1000, false) {
            let p = table.partial(&c, &keys, repeat).unwrap();
            table.combine(p).unwrap();
        }
        let groups = case["groups"].as_array().unwrap();
        let order = table.sorted();
        assert_eq!(order.len(), groups.len());
        for (&id, g) in order.iter().zip(groups) {
            let acc = table.accumulator(id);
            assert_eq!(table.key(id), Key::Int(g["key"].as_i64().unwrap()));
            assert_eq!(acc.count(), g["count"].as_u64().unwrap());
            assert_eq!(acc.reduce(Reduction::Sum), num(&g["sum"]));
            assert_eq!(acc.reduce(Reduction::Mean), num(&g["exact"]));
        }
    }
}

#[test]
fn a_text_key_column_matches_pandas_groupby() {
    let path = dir().join("sales.csv");
    let layout = scan(&mut File::open(&path).unwrap(), b',', HeaderMode::Detect).unwrap();
    let column = layout.column("store").unwrap();
    let mut table_csv = csv::Reader::from_path(&path).unwrap();
    let (mut pred, mut target) = (Vec::new(), Vec::new());
    for row in table_csv.records() {
        let row = row.unwrap();
        pred.push(row[2].parse::<f64>().unwrap());
        target.push(row[3].parse::<f64>().unwrap());
    }
    for case in manifest()["by_csv"].as_array().unwrap() {
        let file = File::open(&path).unwrap();
        let csv = crate::input::csv::Table::new(Box::new(file), layout.clone(), b',').unwrap();
        let mut reader = CsvKeys::new(csv.text_reader(column).unwrap(), "sales.csv");
        let l = Losses::new(loss_of(case), pred.clone(), target.clone(), None);
        let mut table = GroupTable::new(reader.kind());
        for c in l.chunks(64, false) {
            let keys = reader.next_keys(c.len()).unwrap();
            let p = table.partial(&c, &keys, 1).unwrap();
            table.combine(p).unwrap();
        }
        let groups = case["groups"].as_array().unwrap();
        for (&id, g) in table.sorted().iter().zip(groups) {
            let acc = table.accumulator(id);
            let key = g["key"].as_str().unwrap().as_bytes().to_vec();
            assert_eq!(table.key(id), Key::Text(key));
            assert_eq!(acc.count(), g["count"].as_u64().unwrap());
            assert_eq!(acc.reduce(Reduction::Sum), num(&g["sum"]), "{g}");
            assert_eq!(acc.reduce(Reduction::Mean), num(&g["exact"]), "{g}");
        }
        assert_eq!(table.len(), groups.len());
    }
}

#[test]
fn the_worst_elements_match_argsort() {
    for case in manifest()["top"].as_array().unwrap() {
        let name = case["input"].as_str().unwrap();
        let (shape, pred) = f32_npy(&format!(
            "{}.npy",
            if name == "depth" {
                "pred"
            } else {
                "top_nan_pred"
            }
        ));
        let (_, target) = f32_npy(&format!(
            "{}.npy",
            if name == "depth" {
                "target"
            } else {
                "top_nan_target"
            }
        ));
        let l = Losses::new(loss_of(case), pred, target, None);
        let omit = case["omit_nan"].as_bool().unwrap();
        let mut top = TopK::new(case["k"].as_u64().unwrap() as usize);
        for c in l.chunks(50, omit) {
            let p = top.partial(&c);
            top.combine(p);
        }
        let got = top.worst();
        assert_eq!(got.len(), case["index"].as_array().unwrap().len());
        for (k, w) in got.iter().enumerate() {
            assert_eq!(w.index as u64, case["index"][k].as_u64().unwrap(), "{case}");
            let multi: Vec<usize> = serde_json::from_value(case["multi_index"][k].clone()).unwrap();
            assert_eq!(unravel(w.index, &shape), multi);
            let want = num(&case["losses"][k]);
            assert!(w.loss == want || (w.loss.is_nan() && want.is_nan()));
        }
    }
}
