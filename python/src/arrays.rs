//! numpy arrays in, numpy arrays out. An input array is read where it lies: its buffer becomes a
//! [`MemoryArray`] that holds a reference to the array (so that it outlives the run) and reads its
//! bytes in place, whatever their alignment. Arrays that are not C-contiguous are made so by the
//! Python side first (`np.ascontiguousarray`): the engine reads elements in C order.

use std::sync::Arc;

use huber_core::dtype::{Dtype, Kind};
use huber_engine::{InputSpec, MemoryArray, Owned};
use numpy::{IntoPyArray, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The bytes of a C-contiguous numpy array, kept alive by a reference to it.
struct Buffer {
    _owner: Py<PyAny>,
    data: *const u8,
    len: usize,
}

// SAFETY: the array's memory is owned by a numpy array that `_owner` keeps alive for as long as
// the buffer exists, and is only read. numpy arrays may be read from any thread.
unsafe impl Send for Buffer {}
unsafe impl Sync for Buffer {}

impl AsRef<[u8]> for Buffer {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `data` points at `len` bytes of the array (C-contiguous, checked when made),
        // which `_owner` keeps alive.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }
}

/// The engine's element type of a numpy dtype, if it reads it.
fn dtype_of(array: &Bound<'_, PyUntypedArray>) -> PyResult<Dtype> {
    let descr = array.dtype();
    let kind = match descr.kind() {
        b'f' => Kind::Float,
        b'i' => Kind::Int,
        b'u' => Kind::UInt,
        b'b' => Kind::Bool,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "arrays of dtype {} are not read: huber reads bool, integer and float16/32/64 arrays",
                descr.str()?
            )));
        }
    };
    let big_endian = match descr.byteorder() {
        b'>' => true,
        b'<' => false,
        _ => cfg!(target_endian = "big"),
    };
    Ok(Dtype {
        kind,
        size: descr.itemsize(),
        big_endian,
    })
}

/// An input: a numpy array (read in place) or the command line's INPUT text
/// (`"preds.parquet:pred"`).
pub fn input(value: &Bound<'_, PyAny>, name: &str) -> PyResult<InputSpec> {
    // Arrays first: a failed extraction makes an exception object, which costs more than a
    // small run.
    let Ok(array) = value.cast::<PyUntypedArray>() else {
        let text = value.extract::<std::path::PathBuf>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{name}: a numpy array or an input path, not {}",
                value
                    .get_type()
                    .name()
                    .map_or("?".into(), |n| n.to_string())
            ))
        })?;
        return InputSpec::parse(text.as_os_str())
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")));
    };
    if !array.is_c_contiguous() {
        return Err(PyValueError::new_err(format!(
            "{name}: the array is not C-contiguous (internal: the package copies such arrays first)"
        )));
    }
    let dtype = dtype_of(array)?;
    let shape = array.shape().to_vec();
    let len = shape.iter().product::<usize>() * dtype.size;
    // SAFETY: a numpy array object's `data` field is its buffer's start.
    let data = unsafe { (*array.as_array_ptr()).fields.data } as *const u8;
    let buffer = Buffer {
        _owner: array.clone().into_any().unbind(),
        data,
        len,
    };
    let memory = MemoryArray::new(Arc::new(buffer), dtype, &shape)
        .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?;
    Ok(InputSpec::array(memory.named(name)))
}

/// Element losses or a gradient as a numpy array of `shape`, without a copy.
pub fn to_numpy<'py>(
    py: Python<'py>,
    values: Owned,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let flat = match values {
        Owned::F16(v) => v.into_pyarray(py).into_any(),
        Owned::F32(v) => v.into_pyarray(py).into_any(),
        Owned::F64(v) => v.into_pyarray(py).into_any(),
    };
    flat.call_method1("reshape", (shape.to_vec(),))
}
