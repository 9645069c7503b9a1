//! Arrays already in memory as inputs: the elements as stored, with their dtype and shape, read by
//! the NPY reader through a header made for them (the bytes are not copied first).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use super::npy::NpySource;
use crate::dtype::{Dtype, Kind};

/// An array in memory: its elements in C order as the dtype stores them (little or big endian),
/// shared, never copied before it is read.
///
/// ```
/// use huber_engine::{InputSpec, MemoryArray, Options, Results, evaluate};
///
/// let pred = MemoryArray::from_f64(vec![0.0, 2.0, -3.0], &[3])?;
/// let target = MemoryArray::from_f64(vec![0.5, 0.0, 0.0], &[3])?;
/// let options = Options::new(InputSpec::array(pred), InputSpec::array(target));
/// let Results::Scalars(results) = evaluate(&options, Default::default())?.results else {
///     unreachable!("a mean is a scalar result")
/// };
/// assert_eq!(results[0].value, 4.125 / 3.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MemoryArray {
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    dtype: Dtype,
    shape: Vec<usize>,
    /// What messages call the array (`pred`), if not `<array [shape]>`.
    name: Option<Arc<str>>,
    /// Tells arrays apart: two inputs are one input only when they are the same array.
    id: usize,
}

impl MemoryArray {
    /// An array of `shape` whose elements of type `dtype` are `bytes`, in C order. Fails when the
    /// bytes are not exactly as many as the shape and dtype need, or the dtype is not one huber
    /// reads (bool, integers of 1–8 bytes, floats of 2, 4 or 8 bytes).
    pub fn new(
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
        dtype: Dtype,
        shape: &[usize],
    ) -> Result<MemoryArray, huber_core::Error> {
        let invalid = |m: String| Err(huber_core::Error::invalid_argument(m));
        if descr(dtype).is_none() {
            return invalid(format!(
                "an array of {dtype} elements: not a dtype huber reads"
            ));
        }
        let need = shape.iter().try_fold(dtype.size, |n, &d| n.checked_mul(d));
        let have = (*bytes).as_ref().len();
        if need != Some(have) {
            return invalid(format!(
                "an array of shape {} and dtype {dtype} needs {} bytes, not {have}",
                crate::array::fmt_shape(shape),
                need.map_or("more than memory holds".to_string(), |n| n.to_string()),
            ));
        }
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        Ok(MemoryArray {
            bytes,
            dtype,
            shape: shape.to_vec(),
            name: None,
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// An array of float64 values.
    pub fn from_f64(values: Vec<f64>, shape: &[usize]) -> Result<MemoryArray, huber_core::Error> {
        MemoryArray::new(Arc::new(Bytes(values)), Dtype::F64, shape)
    }

    /// An array of float32 values.
    pub fn from_f32(values: Vec<f32>, shape: &[usize]) -> Result<MemoryArray, huber_core::Error> {
        MemoryArray::new(Arc::new(Bytes(values)), Dtype::F32, shape)
    }

    /// The array, called `name` in messages (`pred: element 7 is NaN`) instead of
    /// `<array [shape]>`.
    pub fn named(mut self, name: &str) -> MemoryArray {
        self.name = Some(name.into());
        self
    }

    /// What messages call the array.
    pub fn name(&self) -> String {
        match &self.name {
            Some(name) => name.to_string(),
            None => format!("<array {}>", crate::array::fmt_shape(&self.shape)),
        }
    }

    /// The array's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The stored element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// A reader of the elements, in place.
    pub(crate) fn source(&self) -> Result<NpySource> {
        Ok(NpySource::from_memory(
            self.bytes.clone(),
            self.dtype,
            &self.shape,
        ))
    }
}

/// numpy's `descr` of a dtype, if huber reads it.
fn descr(d: Dtype) -> Option<String> {
    let order = if d.size == 1 {
        '|'
    } else if d.big_endian {
        '>'
    } else {
        '<'
    };
    let code = match (d.kind, d.size) {
        (Kind::Bool, 1) => 'b',
        (Kind::Int, 1 | 2 | 4 | 8) => 'i',
        (Kind::UInt, 1 | 2 | 4 | 8) => 'u',
        (Kind::Float, 2 | 4 | 8) => 'f',
        _ => return None,
    };
    Some(format!("{order}{code}{}", d.size))
}

/// A vector of plain numbers seen as its bytes.
struct Bytes<T>(Vec<T>);

impl<T: bytemuck::Pod> AsRef<[u8]> for Bytes<T> {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

impl fmt::Debug for MemoryArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "MemoryArray({} {})",
            self.dtype,
            crate::array::fmt_shape(&self.shape)
        )
    }
}

/// Arrays are the same input only when they are the same array (clones of one another).
impl PartialEq for MemoryArray {
    fn eq(&self, other: &MemoryArray) -> bool {
        self.id == other.id
    }
}

impl Eq for MemoryArray {}

impl Hash for MemoryArray {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.id.hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::Owned;
    use crate::{InputSpec, Options, Results, evaluate};

    fn mean(pred: MemoryArray, target: MemoryArray) -> f64 {
        let options = Options::new(InputSpec::array(pred), InputSpec::array(target));
        match evaluate(&options, Default::default()).unwrap().results {
            Results::Scalars(r) => r[0].value,
            other => panic!("not scalars: {other:?}"),
        }
    }

    #[test]
    fn arrays_of_every_layout_read_as_their_values() {
        let values = [0.5f64, -2.0, 3.0, 0.25, -0.125, 8.0];
        let want = mean(
            MemoryArray::from_f64(values.to_vec(), &[2, 3]).unwrap(),
            MemoryArray::from_f64(vec![0.0; 6], &[2, 3]).unwrap(),
        );
        let big: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let big_endian = Dtype {
            big_endian: true,
            ..Dtype::F64
        };
        let pred = MemoryArray::new(Arc::new(big), big_endian, &[2, 3]).unwrap();
        let zeros = MemoryArray::new(
            Arc::new(vec![0u8; 12]),
            Dtype {
                kind: Kind::Int,
                size: 2,
                big_endian: false,
            },
            &[2, 3],
        )
        .unwrap();
        assert_eq!(mean(pred, zeros), want);
    }

    #[test]
    fn one_array_for_both_inputs_and_elements_collected() {
        let a = MemoryArray::from_f32(vec![1.0, 2.0, 4.0], &[3]).unwrap();
        let mut options = Options::new(InputSpec::array(a.clone()), InputSpec::array(a));
        options.reduction = crate::reduce::Reduction::None;
        match evaluate(&options, Default::default()).unwrap().results {
            Results::Elements {
                shape,
                values: Some(Owned::F32(v)),
            } => assert_eq!((shape, v), (vec![3], vec![0.0; 3])),
            other => panic!("not float32 elements: {other:?}"),
        }
    }

    #[test]
    fn lengths_that_do_not_fit_the_shape_are_refused() {
        let e = MemoryArray::from_f64(vec![1.0; 5], &[2, 3]).unwrap_err();
        assert!(e.is_invalid_argument());
        assert!(e.to_string().contains("needs 48 bytes, not 40"), "{e}");
        let odd = Dtype {
            kind: Kind::Float,
            size: 16,
            big_endian: false,
        };
        assert!(MemoryArray::new(Arc::new(vec![0u8; 16]), odd, &[1]).is_err());
    }
}
