//! The sinks the engine's own passes use: accumulators for a reduction, the output stream (on a
//! thread of its own), the sum over a broadcast `pred`'s copies for its gradient, and a plain
//! observer; and the sinks made of other sinks (none, a pair, an option, a borrowed one).

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use half::f16;

use super::feed::{MultiIndex, broadcast_strides};
use super::{BATCH, CHUNK, Chunk, Emit, NanPolicy, Observer, STEP_AT, Sink};
use crate::array::{Element, Owned, Values};
use crate::dtype::Precision;
use crate::reduce::Accumulator;
use huber_core::exact::ExactSum;

/// No sink: nothing is kept.
impl Sink for () {
    type Part = ();
    fn chunk<T: Element>(&self, _: &Chunk<'_, T>) -> Result<()> {
        Ok(())
    }
    fn combine(&mut self, _: ()) -> Result<()> {
        Ok(())
    }
}

/// Both sinks see every chunk.
impl<A: Sink, B: Sink> Sink for (A, B) {
    type Part = (A::Part, B::Part);
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Self::Part> {
        Ok((self.0.chunk(c)?, self.1.chunk(c)?))
    }
    fn combine(&mut self, (a, b): Self::Part) -> Result<()> {
        self.0.combine(a)?;
        self.1.combine(b)
    }
    fn begin_batch(&mut self, start: usize, len: usize) -> Result<()> {
        self.0.begin_batch(start, len)?;
        self.1.begin_batch(start, len)
    }
}

/// A sink that may not be there.
impl<S: Sink> Sink for Option<S> {
    type Part = Option<S::Part>;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Self::Part> {
        self.as_ref().map(|s| s.chunk(c)).transpose()
    }
    fn combine(&mut self, part: Self::Part) -> Result<()> {
        match (self, part) {
            (Some(s), Some(p)) => s.combine(p),
            _ => Ok(()),
        }
    }
    fn begin_batch(&mut self, start: usize, len: usize) -> Result<()> {
        match self {
            Some(s) => s.begin_batch(start, len),
            None => Ok(()),
        }
    }
}

impl<S: Sink> Sink for &mut S {
    type Part = S::Part;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Self::Part> {
        (**self).chunk(c)
    }
    fn combine(&mut self, part: Self::Part) -> Result<()> {
        (**self).combine(part)
    }
    fn begin_batch(&mut self, start: usize, len: usize) -> Result<()> {
        (**self).begin_batch(start, len)
    }
}

/// Sums, counts and linear counts of each loss's element losses (`--nan omit` leaving NaNs out).
pub struct Accumulate {
    /// One per loss, in the order of the kernel's outputs.
    pub accs: Vec<Accumulator>,
}

impl Accumulate {
    /// Empty accumulators for `losses` losses.
    pub fn new(losses: usize) -> Accumulate {
        Accumulate {
            accs: vec![Accumulator::default(); losses],
        }
    }
}

impl Sink for Accumulate {
    type Part = Vec<Accumulator>;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Vec<Accumulator>> {
        let mut accs = vec![Accumulator::default(); self.accs.len()];
        for (k, acc) in accs.iter_mut().enumerate() {
            match c.nan {
                NanPolicy::Omit => acc.add_omitting_nan(c.values(k), c.linear(k)),
                NanPolicy::Propagate | NanPolicy::Error => acc.add(c.values(k), c.linear(k)),
            }
        }
        Ok(accs)
    }
    fn combine(&mut self, part: Vec<Accumulator>) -> Result<()> {
        for (acc, p) in self.accs.iter_mut().zip(&part) {
            acc.merge(p);
        }
        Ok(())
    }
}

/// Sends the kernel's (first) output, chunk by chunk in order, to the writer thread of
/// [`write_behind`], in buffers that the writer hands back: fresh memory for every chunk would
/// cost more than the copy into it.
pub struct Forward {
    tx: SyncSender<Owned>,
    precision: Precision,
    spare: Arc<Mutex<Vec<Owned>>>,
}

impl Sink for Forward {
    type Part = Owned;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Owned> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let v = c.values(0);
        Ok(match (T::values(v), self.precision, spare) {
            (Values::F64(v), _, Some(Owned::F64(mut b))) => {
                b.clear();
                b.extend_from_slice(v);
                Owned::F64(b)
            }
            (Values::F32(v), Precision::F32, Some(Owned::F32(mut b))) => {
                b.clear();
                b.extend_from_slice(v);
                Owned::F32(b)
            }
            (Values::F32(v), Precision::F16, Some(Owned::F16(mut b))) => {
                b.clear();
                b.extend(v.iter().map(|&x| f16::from_f32(x)));
                Owned::F16(b)
            }
            _ => T::to_owned(v, self.precision),
        })
    }
    fn combine(&mut self, part: Owned) -> Result<()> {
        self.tx
            .send(part)
            .map_err(|_| anyhow::anyhow!("the output writer stopped"))
    }
}

/// Runs `produce` with a [`Forward`] sink for results of type `precision`, handing what it
/// sends to `emit` on a thread of its own, so that formatting and writing the output overlap
/// reading and computing. At most two steps of chunks wait in between.
pub fn write_behind<R>(
    emit: Emit<'_>,
    precision: Precision,
    produce: impl FnOnce(Forward) -> Result<R>,
) -> Result<R> {
    let depth = 2 * STEP_AT * BATCH / CHUNK;
    let spare = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Owned>(depth);
        let back = spare.clone();
        let writer = s.spawn(move || -> Result<()> {
            for part in rx {
                emit(part.as_values())?;
                let mut back = back.lock().unwrap_or_else(|e| e.into_inner());
                if back.len() < depth {
                    back.push(part);
                }
            }
            Ok(())
        });
        let produced = produce(Forward {
            tx,
            precision,
            spare,
        });
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the output writer failed")));
        // A failed write stops the writer first, and then the producer: its error is the cause.
        written.and(produced)
    })
}

/// Sums the gradients of a broadcast `pred`'s copies, element by element of `pred`, exactly.
pub struct Unbroadcast {
    len: usize,
    strides: Vec<usize>,
    index: MultiIndex,
    sums: Vec<ExactSum>,
}

impl Unbroadcast {
    /// For a `pred` of shape `own` broadcast to `shape`.
    pub fn new(own: &[usize], shape: &[usize]) -> Unbroadcast {
        Unbroadcast {
            len: own.iter().product(),
            strides: broadcast_strides(own, shape),
            index: MultiIndex::new(shape),
            sums: Vec::new(),
        }
    }

    /// Passes the summed gradients, in `pred`'s C order and the result type, to `emit`.
    pub fn emit(&self, precision: Precision, emit: Emit<'_>) -> Result<()> {
        // Each exact sum rounded once, straight to the result type.
        fn rounded<T: Element>(sums: &[ExactSum], precision: Precision) -> Vec<Owned> {
            let grads: Vec<T> = sums
                .iter()
                .map(|s| match precision {
                    Precision::F64 => T::from_f64(s.to_f64()),
                    Precision::F32 => T::from_f64(f64::from(s.to_f32())),
                    Precision::F16 => T::from_f64(f64::from(f16::from_bits(s.to_f16_bits()))),
                })
                .collect();
            grads
                .chunks(BATCH)
                .map(|g| T::to_owned(g, precision))
                .collect()
        }
        let parts = match precision {
            Precision::F64 => rounded::<f64>(&self.sums, precision),
            _ => rounded::<f32>(&self.sums, precision),
        };
        for part in &parts {
            emit(part.as_values())?;
        }
        Ok(())
    }
}

impl Sink for Unbroadcast {
    type Part = Vec<f64>;
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<Vec<f64>> {
        Ok(c.values(0).iter().map(|g| g.to_f64()).collect())
    }
    fn combine(&mut self, part: Vec<f64>) -> Result<()> {
        // Made once the first chunk is in, when pred has been read whole: its size then follows
        // bytes that were there, not what a header claimed.
        if self.sums.is_empty() {
            self.sums = vec![ExactSum::default(); self.len];
        }
        for g in part {
            self.sums[self.index.offset(&self.strides)].push_f64(g);
            self.index.advance();
        }
        Ok(())
    }
}

/// Shows each chunk's (first) kernel output to an observer, on the worker threads.
pub struct Observe<'a>(pub Observer<'a>);

impl Sink for Observe<'_> {
    type Part = ();
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<()> {
        (self.0)(T::values(c.values(0)));
        Ok(())
    }
    fn combine(&mut self, _: ()) -> Result<()> {
        Ok(())
    }
}

/// A pass shown to a [`Progress`](crate::Progress) observer, as an observer of its chunks: it
/// counts the elements done, and the pass ends when it is dropped.
pub struct Ticks<'a> {
    progress: &'a dyn crate::Progress,
    done: u64,
}

impl Ticks<'_> {
    /// Starts a pass over `total` elements (`None`: not known before the end).
    pub fn new(progress: &dyn crate::Progress, total: Option<u64>) -> Ticks<'_> {
        progress.start(total);
        Ticks { progress, done: 0 }
    }
}

impl Sink for Ticks<'_> {
    type Part = u64;
    fn begin_batch(&mut self, _start: usize, _len: usize) -> Result<()> {
        anyhow::ensure!(!self.progress.interrupted(), "interrupted");
        Ok(())
    }
    fn chunk<T: Element>(&self, c: &Chunk<'_, T>) -> Result<u64> {
        Ok(c.len() as u64)
    }
    fn combine(&mut self, n: u64) -> Result<()> {
        self.done += n;
        self.progress.advance(self.done);
        Ok(())
    }
}

impl Drop for Ticks<'_> {
    fn drop(&mut self) {
        self.progress.finish();
    }
}
