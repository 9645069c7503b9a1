use super::*;
use crate::dtype::Dtype;
use crate::input::Buf;

/// An array held in memory, streamed out like a file.
struct MemSource {
    shape: Vec<usize>,
    data: Vec<f64>,
    pos: usize,
}

impl MemSource {
    fn new(shape: Vec<usize>, data: Vec<f64>) -> MemSource {
        MemSource {
            shape,
            data,
            pos: 0,
        }
    }
}

impl Source for MemSource {
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn dtype(&self) -> Dtype {
        Dtype::F64
    }
    fn read(&mut self, mut out: Buf<'_>) -> Result<()> {
        let n = out.len();
        out.copy_from(self.data[self.pos..self.pos + n].iter().copied());
        self.pos += n;
        Ok(())
    }
}

fn reduce(
    threads: usize,
    nan: NanPolicy,
    p: Vec<f64>,
    t: Vec<f64>,
    losses: &[Loss],
) -> Result<Vec<Summary>> {
    let n = p.len();
    let mut ps = MemSource::new(vec![n], p);
    let mut ts = MemSource::new(vec![n], t);
    let mut inputs = Inputs {
        pred: &mut ps,
        target: &mut ts,
        weight: None,
    };
    Engine::new(threads, nan)?.reduce(&mut inputs, &[n], losses, Reduction::Mean, &mut ())
}

fn data(n: usize) -> (Vec<f64>, Vec<f64>) {
    let p = (0..n).map(|i| ((i * 7919) % 1000) as f64 / 37.0).collect();
    let t = (0..n)
        .map(|i| ((i * 104729) % 1000) as f64 / 41.0)
        .collect();
    (p, t)
}

#[test]
fn thread_count_does_not_change_a_bit() {
    let losses = [Loss::huber(0.5).unwrap(), Loss::Mse];
    for n in [0, 1, CHUNK - 1, CHUNK + 1, BATCH + 3 * CHUNK + 5] {
        let (p, t) = data(n);
        let one = reduce(1, NanPolicy::Propagate, p.clone(), t.clone(), &losses).unwrap();
        for threads in [2, 3, 7] {
            let many =
                reduce(threads, NanPolicy::Propagate, p.clone(), t.clone(), &losses).unwrap();
            for (a, b) in one.iter().zip(&many) {
                assert_eq!(
                    a.value.to_bits(),
                    b.value.to_bits(),
                    "n={n} threads={threads}"
                );
                assert_eq!(a.sum.to_bits(), b.sum.to_bits());
            }
        }
    }
}

#[test]
fn nan_error_names_the_first_element() {
    let e = reduce(
        2,
        NanPolicy::Error,
        vec![0.0, f64::NAN, 1.0, f64::NAN],
        vec![0.0; 4],
        &[Loss::L1],
    );
    assert_eq!(e.unwrap_err().downcast_ref::<NanAt>(), Some(&NanAt(1)));
}

#[test]
fn nan_omit_leaves_them_out_of_count() {
    let r = reduce(
        1,
        NanPolicy::Omit,
        vec![2.0, f64::NAN, 4.0],
        vec![0.0; 3],
        &[Loss::L1],
    )
    .unwrap();
    assert_eq!((r[0].value, r[0].count), (3.0, 2));
}

#[test]
fn broadcasting_repeats_the_smaller_input() {
    // pred (2, 1) against target (3,): result (2, 3).
    let mut p = MemSource::new(vec![2, 1], vec![1.0, 2.0]);
    let mut t = MemSource::new(vec![3], vec![0.0, 1.0, 2.0]);
    let mut inputs = Inputs {
        pred: &mut p,
        target: &mut t,
        weight: None,
    };
    let shape = inputs.shape(true).unwrap();
    assert_eq!(shape, vec![2, 3]);
    let mut got = Vec::new();
    let e = Engine::new(2, NanPolicy::Propagate).unwrap();
    e.elementwise(&mut inputs, &shape, Loss::L1, &mut (), &mut |v| {
        got.extend((0..v.len()).map(|i| v.get(i)));
        Ok(())
    })
    .unwrap();
    assert_eq!(got, [1.0, 0.0, 1.0, 2.0, 1.0, 0.0]);
    assert!(
        inputs
            .shape(false)
            .unwrap_err()
            .to_string()
            .contains("pred is (2, 1), target is (3,)")
    );
}

#[test]
fn gradient_of_a_broadcast_pred_sums_its_copies() {
    let mut p = MemSource::new(vec![1], vec![3.0]);
    let mut t = MemSource::new(vec![3], vec![0.0, 1.0, 5.0]);
    let mut inputs = Inputs {
        pred: &mut p,
        target: &mut t,
        weight: None,
    };
    let mut got = Vec::new();
    let e = Engine::new(1, NanPolicy::Propagate).unwrap();
    e.gradient(&mut inputs, &[3], Loss::Mse, 1.0, &mut (), &mut |v| {
        got.extend((0..v.len()).map(|i| v.get(i)));
        Ok(())
    })
    .unwrap();
    // d/dp Σ (p − t)² = Σ 2(p − t) = 6 + 4 − 4.
    assert_eq!(got, [6.0]);
}

/// Hands out data a few bytes at a time, so reads end inside elements and records.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
    step: usize,
}

impl std::io::Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let n = buf.len().min(self.step).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn npy_bytes(values: &[f32]) -> Vec<u8> {
    let mut v = crate::npy::header_bytes("<f4", &[values.len()]);
    values
        .iter()
        .for_each(|x| v.extend_from_slice(&x.to_le_bytes()));
    v
}

/// The MSE summed over `n` elements of `pred` and `target` on `threads` threads.
fn mse_sum(
    pred: &mut dyn Source,
    target: &mut dyn Source,
    n: usize,
    threads: usize,
) -> Result<Vec<Summary>> {
    let mut inputs = Inputs {
        pred,
        target,
        weight: None,
    };
    Engine::new(threads, NanPolicy::Propagate).unwrap().reduce(
        &mut inputs,
        &[n],
        &[Loss::Mse],
        Reduction::Sum,
        &mut (),
    )
}

#[test]
fn streamed_and_whole_inputs_agree_bit_for_bit() {
    use crate::input::npy::NpySource;
    for n in [1, 5, CHUNK + 3, BATCH + CHUNK + 1] {
        let p: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32 / 37.0).collect();
        let t: Vec<f32> = (0..n).map(|i| ((i * 104729) % 997) as f32 / 41.0).collect();
        let whole = |threads| {
            let mut ps = MemSource::new(vec![n], p.iter().map(|&x| f64::from(x)).collect());
            let mut ts = MemSource::new(vec![n], t.iter().map(|&x| f64::from(x)).collect());
            mse_sum(&mut ps, &mut ts, n, threads)
        };
        let streamed = |threads| {
            let open = |v: &[f32]| {
                NpySource::open(
                    Box::new(Trickle {
                        data: npy_bytes(v),
                        pos: 0,
                        step: 0,
                    }),
                    None,
                )
            };
            let (mut ps, mut ts) = (open(&p).unwrap(), open(&t).unwrap());
            mse_sum(&mut ps, &mut ts, n, threads)
        };
        // f32 data computes in f32, CSV-like f64 data in f64: compare each against its own
        // kind across thread counts, and the f32 stream against an f32 whole-array sum.
        let reference = streamed(1).unwrap()[0].value;
        let mut exact = crate::reduce::Accumulator::default();
        let mut out = vec![0f32; n];
        Loss::Mse.forward(&p, &t, &mut out);
        for c in out.chunks(CHUNK) {
            let mut part = crate::reduce::Accumulator::default();
            part.add(c, 0);
            exact.merge(&part);
        }
        assert_eq!(
            reference.to_bits(),
            (exact.reduce(Reduction::Sum) as f32 as f64).to_bits(),
            "n={n}"
        );
        for threads in [2, 3, 5] {
            assert_eq!(
                streamed(threads).unwrap()[0].value.to_bits(),
                reference.to_bits(),
                "n={n}"
            );
            assert_eq!(
                whole(threads).unwrap()[0].value.to_bits(),
                whole(1).unwrap()[0].value.to_bits()
            );
        }
    }
}

#[test]
fn csv_read_in_trickles_matches_one_read() {
    use crate::input::csv::{HeaderMode, Table, scan};
    let mut text = String::from("a,b\n");
    for i in 0..20_000 {
        text.push_str(&format!("{}.{},{}e-3\n", i % 97, i % 13, i));
    }
    let bytes = text.into_bytes();
    let layout = scan(
        &mut std::io::Cursor::new(&bytes[..]),
        b',',
        HeaderMode::Detect,
    )
    .unwrap();
    let read = |reader: Box<dyn std::io::Read + Send>, threads: usize| {
        let table = Table::new(reader, layout.clone(), b',').unwrap();
        let (mut a, mut b) = (
            table.reader(Some("a")).unwrap(),
            table.reader(Some("b")).unwrap(),
        );
        let mut inputs = Inputs {
            pred: &mut a,
            target: &mut b,
            weight: None,
        };
        let e = Engine::new(threads, NanPolicy::Propagate).unwrap();
        e.reduce(
            &mut inputs,
            &[layout.rows],
            &[Loss::huber(0.5).unwrap()],
            Reduction::Mean,
            &mut (),
        )
        .unwrap()[0]
            .value
    };
    let one = read(Box::new(std::io::Cursor::new(bytes.clone())), 1);
    for threads in [1, 2, 3] {
        let trickled = read(
            Box::new(Trickle {
                data: bytes.clone(),
                pos: 0,
                step: 0,
            }),
            threads,
        );
        assert_eq!(trickled.to_bits(), one.to_bits());
    }
}

#[test]
fn files_read_by_position_agree_with_streams_bit_for_bit() {
    use crate::input::npy::NpySource;
    let dir = tempfile::tempdir().unwrap();
    for n in [3, BATCH + CHUNK + 5] {
        let p: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32 / 37.0).collect();
        let t: Vec<f32> = (0..n).map(|i| ((i * 104729) % 997) as f32 / 41.0).collect();
        let (pp, tp) = (dir.path().join("p.npy"), dir.path().join("t.npy"));
        std::fs::write(&pp, npy_bytes(&p)).unwrap();
        std::fs::write(&tp, npy_bytes(&t)).unwrap();
        let run = |threads, by_position: bool| {
            let open = |path: &std::path::Path| -> Box<dyn Source> {
                let file = std::fs::File::open(path).unwrap();
                if by_position {
                    Box::new(NpySource::open_file(file).unwrap())
                } else {
                    Box::new(NpySource::open(Box::new(file), None).unwrap())
                }
            };
            let (mut ps, mut ts) = (open(&pp), open(&tp));
            assert_eq!(ps.positional().is_some(), by_position);
            let mut inputs = Inputs {
                pred: ps.as_mut(),
                target: ts.as_mut(),
                weight: None,
            };
            let e = Engine::new(threads, NanPolicy::Propagate).unwrap();
            let loss = Loss::huber(0.5).unwrap();
            let r = e.reduce(&mut inputs, &[n], &[loss], Reduction::Mean, &mut ());
            r.unwrap()[0].value.to_bits()
        };
        let streamed = run(1, false);
        for threads in [1, 2, 3] {
            assert_eq!(run(threads, true), streamed, "n={n} threads={threads}");
        }
    }
}

/// A [`MemSource`] whose shape only bounds its length, as a CSV table read without a count.
struct OpenEnded(MemSource);

impl Source for OpenEnded {
    fn shape(&self) -> &[usize] {
        &self.0.shape
    }
    fn dtype(&self) -> Dtype {
        Dtype::F64
    }
    fn read(&mut self, out: Buf<'_>) -> Result<()> {
        self.0.read(out)
    }
    fn open_ended(&self) -> bool {
        true
    }
    fn read_upto(&mut self, mut out: Buf<'_>) -> Result<usize> {
        let m = &mut self.0;
        let n = out.len().min(m.data.len() - m.pos);
        out.copy_at(0, &m.data[m.pos..m.pos + n]);
        m.pos += n;
        Ok(n)
    }
}

#[test]
fn open_ended_inputs_end_where_their_data_ends() {
    // Lengths around the batch size, where the end falls in the first, a middle or a last
    // batch, or on a batch boundary; the bound is far above the data, or just at it.
    for n in [0, 1, 1000, BATCH - 1, BATCH, BATCH + 1, 3 * BATCH + 77] {
        for bound in [n, n + 1, 2 * n + BATCH] {
            let (p, t) = data(n);
            let want = reduce(2, NanPolicy::Propagate, p.clone(), t.clone(), &[Loss::Mse]);
            let mut ps = OpenEnded(MemSource::new(vec![bound], p));
            let mut ts = OpenEnded(MemSource::new(vec![bound], t));
            let mut inputs = Inputs {
                pred: &mut ps,
                target: &mut ts,
                weight: None,
            };
            let engine = Engine::new(2, NanPolicy::Propagate).unwrap();
            let got = engine.reduce(
                &mut inputs,
                &[bound],
                &[Loss::Mse],
                Reduction::Mean,
                &mut (),
            );
            let (got, want) = (got.unwrap(), want.unwrap());
            assert_eq!(got[0].shape, vec![n], "n {n}, bound {bound}");
            assert_eq!(got[0].count, n as u64);
            assert_eq!(got[0].value.to_bits(), want[0].value.to_bits());
        }
    }
}
