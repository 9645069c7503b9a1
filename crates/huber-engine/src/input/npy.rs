//! NPY: a streaming reader of the data that follows the header ([`crate::npy`]).

use std::fs::File;
use std::io::{Cursor, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use anyhow::{Result, bail, ensure};
use memmap2::Mmap;
use rayon::prelude::*;

use super::decode::decode;
use super::{ReadAt, Source};
use crate::array::Buf;
use crate::dtype::Dtype;
use crate::npy::{Header, fill, read_header};

/// Bytes read by position at once, by one thread each: with the file in the page cache a read
/// is a copy, and copies of pieces of a batch run on every core.
const PIECE: usize = 1 << 17;

/// Streams the elements of an NPY array in C order.
pub struct NpySource {
    header: Header,
    data: Data,
    /// Elements not yet read.
    left: usize,
    buf: Vec<u8>,
    drain: bool,
}

/// Bytes in memory that several readers share: an array handed over by the caller.
pub type Shared = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Where the data comes from.
enum Data {
    /// Read in order.
    Stream(Box<dyn Read + Send>),
    /// In memory (`pos`: the next byte), read in place by position.
    Memory { bytes: Shared, pos: usize },
    /// A regular file, read by position (`pos`: the next byte), in pieces on several threads.
    File { file: File, pos: u64 },
}

impl NpySource {
    /// Reads the header from `reader` and prepares to stream the data.
    ///
    /// `available` is the number of bytes the input holds in all, where that is known (a regular
    /// file): a shape that claims more data than that fails here, before anything is allocated.
    /// Fortran-ordered arrays with more than one non-trivial axis are read whole and reordered.
    pub fn open(mut reader: Box<dyn Read + Send>, available: Option<u64>) -> Result<NpySource> {
        let header = read_header(&mut reader)?;
        let need = header.data_len();
        if let Some(avail) = available {
            let have = avail.saturating_sub(header.data_offset);
            ensure!(
                have >= need,
                "truncated: the header promises {} elements of {} ({need} bytes) but only {have} bytes of data follow",
                header.len(),
                header.dtype
            );
        }
        if reordered(&header) {
            let mut data = Vec::new();
            reader.take(need).read_to_end(&mut data)?;
            ensure!(
                data.len() as u64 == need,
                "truncated: the header promises {need} bytes of data but only {} follow",
                data.len()
            );
            let data = fortran_to_c(&data, &header.shape, header.dtype.size);
            reader = Box::new(Cursor::new(data));
        }
        let left = header.len();
        Ok(NpySource {
            header,
            data: Data::Stream(reader),
            left,
            buf: Vec::new(),
            drain: false,
        })
    }

    /// A reader of the C-ordered elements of `dtype` and `shape` in `bytes` (no header): an
    /// array in memory, read in place.
    pub fn from_memory(bytes: Shared, dtype: Dtype, shape: &[usize]) -> NpySource {
        let header = Header {
            dtype,
            fortran_order: false,
            shape: shape.to_vec(),
            data_offset: 0,
        };
        NpySource {
            left: header.len(),
            header,
            data: Data::Memory { bytes, pos: 0 },
            buf: Vec::new(),
            drain: false,
        }
    }

    /// Opens an NPY file (a regular one, whose length is known), to be read by position.
    pub fn open_file(file: File) -> Result<NpySource> {
        let len = file.metadata()?.len();
        let mut src = NpySource::open(Box::new(file.try_clone()?), Some(len))?;
        if !reordered(&src.header) {
            let pos = src.header.data_offset;
            src.data = Data::File { file, pos };
        }
        Ok(src)
    }

    /// Reads the input to its end in [`Source::finish`], for readers that check something there
    /// (an archive member's CRC).
    pub fn drain_on_finish(mut self) -> NpySource {
        self.drain = true;
        self
    }

    /// Appends the next `n` elements as stored (the header's dtype and byte order) to `out`:
    /// for readers that need the values themselves, not the compute floats (integer labels,
    /// which `f64` would round past 2^53).
    pub fn read_raw(&mut self, n: usize, out: &mut Vec<u8>) -> Result<()> {
        ensure!(
            n <= self.left,
            "internal error: read past the end of the array"
        );
        let start = out.len();
        out.resize(start + n * self.header.dtype.size, 0);
        fill_data(&mut self.data, &self.header, self.left, &mut out[start..])?;
        self.left -= n;
        Ok(())
    }

    /// The elements not yet read.
    pub fn left(&self) -> usize {
        self.left
    }
}

impl Source for NpySource {
    fn shape(&self) -> &[usize] {
        &self.header.shape
    }
    fn dtype(&self) -> Dtype {
        self.header.dtype
    }
    fn read(&mut self, mut out: Buf<'_>) -> Result<()> {
        ensure!(
            out.len() <= self.left,
            "internal error: read past the end of the array"
        );
        let dtype = self.header.dtype;
        let direct = dtype == out.native();
        if !direct {
            self.buf.resize(out.len() * dtype.size, 0);
        }
        let bytes = if direct {
            out.bytes_mut()
        } else {
            &mut self.buf
        };
        fill_data(&mut self.data, &self.header, self.left, bytes)?;
        self.left -= out.len();
        if !direct {
            decode(dtype, &self.buf, &mut out);
        }
        Ok(())
    }
    fn positional(&self) -> Option<Box<dyn ReadAt>> {
        match &self.data {
            Data::File { file, .. } => Some(Box::new(NpyAt {
                file: file.try_clone().ok()?,
                header: self.header.clone(),
            })),
            Data::Memory { bytes, .. } => Some(Box::new(MemoryAt {
                bytes: bytes.clone(),
                header: self.header.clone(),
            })),
            Data::Stream(_) => None,
        }
    }
    fn finish(&mut self) -> Result<()> {
        if let (true, Data::Stream(reader)) = (self.drain, &mut self.data) {
            std::io::copy(reader, &mut std::io::sink())?;
        }
        Ok(())
    }
}

/// Fills `bytes` with the next elements' bytes from `data`, of which `left` elements are still to
/// come; data that ends early is an error naming where.
fn fill_data(data: &mut Data, header: &Header, left: usize, bytes: &mut [u8]) -> Result<()> {
    let filled = match data {
        Data::Stream(reader) => fill(reader, bytes).map_err(|e| match e.kind() {
            // An archive member that ends early.
            std::io::ErrorKind::UnexpectedEof => anyhow::anyhow!("truncated: {e}"),
            _ => e.into(),
        })?,
        Data::File { file, pos } => {
            let filled = read_at(file, *pos, bytes)?;
            *pos += filled as u64;
            filled
        }
        Data::Memory { bytes: data, pos } => {
            let rest = &(**data).as_ref()[*pos..];
            let n = rest.len().min(bytes.len());
            bytes[..n].copy_from_slice(&rest[..n]);
            *pos += n;
            n
        }
    };
    if filled < bytes.len() {
        let dtype = header.dtype;
        let at = header.len() - left + filled / dtype.size;
        bail!(
            "truncated: the header promises {} elements of {dtype} but the data ends after {at}",
            header.len()
        );
    }
    Ok(())
}

/// An NPY file's elements by index.
struct NpyAt {
    file: File,
    header: Header,
}

impl ReadAt for NpyAt {
    fn read_at(&self, index: usize, mut out: Buf<'_>) -> Result<()> {
        let dtype = self.header.dtype;
        ensure!(
            index + out.len() <= self.header.len(),
            "internal error: read past the end of the array"
        );
        let pos = self.header.data_offset + (index * dtype.size) as u64;
        let direct = dtype == out.native();
        let mut raw = Vec::new();
        if !direct {
            raw.resize(out.len() * dtype.size, 0);
        }
        let bytes = if direct { out.bytes_mut() } else { &mut raw };
        let filled = read_at(&self.file, pos, bytes)?;
        if filled < bytes.len() {
            bail!(
                "truncated: the header promises {} elements of {dtype} but the data ends after {}",
                self.header.len(),
                index + filled / dtype.size
            );
        }
        if !direct {
            decode(dtype, &raw, &mut out);
        }
        Ok(())
    }
    fn window(&self, index: usize, len: usize, native: Dtype) -> Option<Window> {
        self.map(index, len, native)
    }
}

/// An array in memory's elements by index, read in place.
struct MemoryAt {
    bytes: Shared,
    header: Header,
}

impl MemoryAt {
    /// The bytes of elements `index..index + len`.
    fn bytes(&self, index: usize, len: usize) -> Result<&[u8]> {
        let size = self.header.dtype.size;
        ensure!(
            index + len <= self.header.len(),
            "internal error: read past the end of the array"
        );
        Ok(&(*self.bytes).as_ref()[index * size..(index + len) * size])
    }
}

impl ReadAt for MemoryAt {
    fn read_at(&self, index: usize, mut out: Buf<'_>) -> Result<()> {
        let dtype = self.header.dtype;
        let bytes = self.bytes(index, out.len())?;
        if dtype == out.native() {
            out.bytes_mut().copy_from_slice(bytes);
        } else {
            decode(dtype, bytes, &mut out);
        }
        Ok(())
    }
    fn window(&self, index: usize, len: usize, native: Dtype) -> Option<Window> {
        let bytes = self.bytes(index, len).ok()?;
        let aligned = (bytes.as_ptr() as usize).is_multiple_of(native.size);
        if self.header.dtype != native || len == 0 || !aligned {
            return None;
        }
        let start = index * native.size;
        Some(Window::Memory {
            bytes: self.bytes.clone(),
            start,
            end: start + bytes.len(),
        })
    }
}

/// Elements of an NPY file mapped into memory: the file's cached pages, read in place. The pages
/// are unmapped when it is dropped, so only the window being computed counts as resident. Or the
/// elements of an array in memory, where they lie.
pub enum Window {
    /// Mapped pages of a file.
    Mapped(Mmap),
    /// Bytes `start..end` of an array in memory.
    Memory {
        bytes: Shared,
        start: usize,
        end: usize,
    },
}

impl Window {
    /// The elements, if they are of type `T` and aligned for it.
    pub fn as_slice<T: bytemuck::Pod>(&self) -> Option<&[T]> {
        let bytes = match self {
            Window::Mapped(map) => &map[..],
            Window::Memory { bytes, start, end } => &(**bytes).as_ref()[*start..*end],
        };
        bytemuck::try_cast_slice(bytes).ok()
    }
}

impl NpyAt {
    /// Maps the bytes of elements `index..index + len` (see [`ReadAt::window`]).
    fn map(&self, index: usize, len: usize, native: Dtype) -> Option<Window> {
        let dtype = self.header.dtype;
        let end = index.checked_add(len)?;
        if dtype != native || len == 0 || end > self.header.len() {
            return None;
        }
        let pos = self.header.data_offset + (index * dtype.size) as u64;
        let bytes = len * dtype.size;
        // The mapping starts on a page boundary, so the elements are aligned when their
        // offset in the file is.
        if !pos.is_multiple_of(dtype.size as u64) {
            return None;
        }
        let map = super::mapped::map(&self.file, pos, bytes).ok()?;
        Some(Window::Mapped(map))
    }
}

/// Whether the data is reordered in memory: Fortran order with more than one non-trivial axis.
fn reordered(header: &Header) -> bool {
    let non_trivial = header.shape.iter().filter(|&&d| d > 1).count();
    header.fortran_order && non_trivial > 1
}

/// Fills `bytes` from `file` at `pos`, in pieces read in parallel; returns the bytes read, fewer
/// only where the file ends.
fn read_at(file: &File, pos: u64, bytes: &mut [u8]) -> std::io::Result<usize> {
    let filled: Vec<std::io::Result<usize>> = bytes
        .par_chunks_mut(PIECE)
        .enumerate()
        .map(|(i, piece)| {
            let at = pos + (i * PIECE) as u64;
            let mut done = 0;
            while done < piece.len() {
                match file.read_at(&mut piece[done..], at + done as u64) {
                    Ok(0) => break,
                    Ok(n) => done += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(done)
        })
        .collect();
    let mut total = 0;
    for n in filled {
        let n = n?;
        total += n;
        if n < PIECE {
            break;
        }
    }
    Ok(total)
}

/// Reorders column-major element bytes into row-major order.
fn fortran_to_c(data: &[u8], shape: &[usize], size: usize) -> Vec<u8> {
    let n: usize = shape.iter().product();
    let mut out = vec![0u8; data.len()];
    // Fortran strides, in elements.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut idx = vec![0usize; shape.len()];
    let mut src = 0usize;
    for c in 0..n {
        out[c * size..(c + 1) * size].copy_from_slice(&data[src * size..(src + 1) * size]);
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            src += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            src -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests;
