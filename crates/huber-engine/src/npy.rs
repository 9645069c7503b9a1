//! NPY headers, read and written: the preamble, and the header (a Python dict literal, parsed
//! by hand with hard limits). Readers of the data are in `input::npy`, the writer in
//! `output::npy`.
//!
//! Format: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

use std::io::Read;

use anyhow::{Context, Result, bail, ensure};

use crate::array::fmt_shape;
use crate::dtype::{Dtype, Kind};

/// The six bytes every NPY file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The longest header accepted. numpy's own `np.load` refuses more than 10 000 bytes unless told
/// otherwise; a header for any dtype this tool reads needs well under 1 KiB.
pub const MAX_HEADER_LEN: usize = 64 * 1024;

/// What an NPY header says about the array that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Element type.
    pub dtype: Dtype,
    /// Whether the data is stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// The shape; empty for a 0-d array.
    pub shape: Vec<usize>,
    /// Bytes from the start of the file to the data.
    pub data_offset: u64,
}

impl Header {
    /// Number of elements the shape holds (checked to fit in memory addresses).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of data the shape and dtype promise.
    pub fn data_len(&self) -> u64 {
        self.len() as u64 * self.dtype.size as u64
    }
}

/// Reads and checks the magic, version and header from the start of `r`.
pub fn read_header(r: &mut impl Read) -> Result<Header> {
    let mut pre = [0u8; 8];
    read_full(r, &mut pre).context("not an NPY file: shorter than the 8-byte preamble")?;
    ensure!(
        &pre[..6] == MAGIC,
        "not an NPY file: it does not start with \\x93NUMPY"
    );
    let (major, minor) = (pre[6], pre[7]);
    let (len, prefix) = match major {
        1 => {
            let mut b = [0u8; 2];
            read_full(r, &mut b).context("NPY header length is cut off")?;
            (usize::from(u16::from_le_bytes(b)), 10)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            read_full(r, &mut b).context("NPY header length is cut off")?;
            (u32::from_le_bytes(b) as usize, 12)
        }
        _ => bail!("unsupported NPY format version {major}.{minor} (huber reads 1.0, 2.0 and 3.0)"),
    };
    ensure!(
        minor == 0,
        "unsupported NPY format version {major}.{minor} (huber reads 1.0, 2.0 and 3.0)"
    );
    ensure!(
        len <= MAX_HEADER_LEN,
        "NPY header claims {len} bytes, more than the limit of {MAX_HEADER_LEN}"
    );
    let mut text = vec![0u8; len];
    read_full(r, &mut text)
        .with_context(|| format!("NPY header is cut off (it claims {len} bytes)"))?;
    let text =
        std::str::from_utf8(&text).map_err(|_| anyhow::anyhow!("NPY header is not valid text"))?;
    let (dtype, fortran_order, shape) = parse_dict(text)?;
    Ok(Header {
        dtype,
        fortran_order,
        shape,
        data_offset: (prefix + len) as u64,
    })
}

/// Like `read_exact`, but an early end of input is an error that says so plainly.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    let filled = fill(r, buf)?;
    ensure!(
        filled == buf.len(),
        "the file ends after {filled} of {} bytes",
        buf.len()
    );
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
pub fn parse_dict(text: &str) -> Result<(Dtype, bool, Vec<usize>)> {
    let mut p = Lexer {
        s: text.as_bytes(),
        i: 0,
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        match key.as_str() {
            "descr" => {
                p.skip_ws();
                if p.peek() == Some(b'[') {
                    bail!("structured dtypes (records with named fields) are not supported");
                }
                descr = Some(parse_descr(&p.string()?)?);
            }
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.shape()?),
            other => bail!("NPY header has an unexpected key '{other}'"),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    ensure!(
        p.i == p.s.len(),
        "NPY header has text after the closing brace"
    );
    let descr = descr.context("NPY header has no 'descr'")?;
    let fortran = fortran.context("NPY header has no 'fortran_order'")?;
    let shape = shape.context("NPY header has no 'shape'")?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let bytes = count
        .and_then(|c| c.checked_mul(descr.size))
        .filter(|&b| b <= isize::MAX as usize);
    ensure!(bytes.is_some(), "NPY shape {shape:?} is too large to exist");
    Ok((descr, fortran, shape))
}

/// Parses a numpy type string such as `<f4`, `>i8`, `|b1`, `=f2` or `?`.
pub fn parse_descr(d: &str) -> Result<Dtype> {
    let (order, rest) = match d.as_bytes().first() {
        Some(c @ (b'<' | b'>' | b'=' | b'|')) => (*c, &d[1..]),
        _ => (b'=', d),
    };
    let big_endian = match order {
        b'>' => true,
        b'<' | b'|' => false,
        _ => cfg!(target_endian = "big"),
    };
    let (code, digits) = match rest.chars().next() {
        Some(c) => (c, &rest[c.len_utf8()..]),
        None => bail!("NPY dtype '{d}' is empty"),
    };
    let size: Option<usize> = if digits.is_empty() {
        None
    } else {
        digits.parse().ok()
    };
    let kind = match code {
        'f' => Kind::Float,
        'i' => Kind::Int,
        'u' => Kind::UInt,
        'b' if size == Some(1) => Kind::Bool,
        '?' if digits.is_empty() => {
            return Ok(Dtype {
                kind: Kind::Bool,
                size: 1,
                big_endian,
            });
        }
        'c' => bail!("complex dtype '{d}' is not supported: losses are defined for real numbers"),
        'O' => {
            bail!("object dtype '{d}' (pickled Python objects) is not supported: it could run code")
        }
        'U' | 'S' | 'a' => bail!("string dtype '{d}' is not supported: store numbers"),
        'M' | 'm' => bail!("datetime dtype '{d}' is not supported: store numbers"),
        'V' => bail!("void dtype '{d}' (raw or structured records) is not supported"),
        _ => bail!("unknown NPY dtype '{d}'"),
    };
    let ok = match kind {
        Kind::Float => matches!(size, Some(2 | 4 | 8)),
        Kind::Int | Kind::UInt => matches!(size, Some(1 | 2 | 4 | 8)),
        Kind::Bool => true,
    };
    match size {
        Some(size) if ok => Ok(Dtype {
            kind,
            size,
            big_endian: big_endian && size > 1,
        }),
        _ if kind == Kind::Float => {
            bail!("float dtype '{d}' is not supported (huber reads float16, float32 and float64)")
        }
        _ => bail!("NPY dtype '{d}' has an unsupported size"),
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, c: u8) -> Result<()> {
        ensure!(
            self.eat(c),
            "NPY header is malformed: expected '{}' at byte {}",
            c as char,
            self.i
        );
        Ok(())
    }
    fn string(&mut self) -> Result<String> {
        self.skip_ws();
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => bail!(
                "NPY header is malformed: expected a quoted string at byte {}",
                self.i
            ),
        };
        let start = self.i + 1;
        let len = self.s[start..].iter().position(|&c| c == quote);
        let len = len.with_context(|| {
            format!(
                "NPY header is malformed: unterminated string at byte {}",
                self.i
            )
        })?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }
    fn boolean(&mut self) -> Result<bool> {
        self.skip_ws();
        for (word, v) in [(&b"True"[..], true), (b"False", false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(v);
            }
        }
        bail!("NPY header is malformed: 'fortran_order' must be True or False")
    }
    fn shape(&mut self) -> Result<Vec<usize>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            ensure!(dims.len() < 64, "NPY shape has more than 64 dimensions");
            if self.peek() == Some(b'-') {
                bail!("NPY shape has a negative dimension");
            }
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            ensure!(
                self.i > start,
                "NPY header is malformed: expected a dimension at byte {}",
                self.i
            );
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
            let dim: usize = digits
                .parse()
                .ok()
                .context("NPY shape has a dimension too large to exist")?;
            // Python 2 wrote long integers with an L suffix.
            if self.peek() == Some(b'L') {
                self.i += 1;
            }
            dims.push(dim);
            if !self.eat(b',') {
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Digits numpy leaves room for in the first axis of a header it writes (`np.save`'s
/// `GROWTH_AXIS_MAX_DIGITS`), so that the array can grow along it and its header be rewritten in
/// place.
const GROWTH_AXIS_DIGITS: usize = 21;

/// Writes the NPY preamble and header for a C-ordered little-endian array (format 1.0 where the
/// header fits, else 2.0) byte for byte as `np.save` does: room for a first axis of up to 21
/// digits, then spaces and a line end so the data starts on a 64-byte boundary. The header's
/// length so depends on the first axis's length only beyond 21 digits: a header written for a
/// provisional first axis can be rewritten in place once the array's length is known.
pub fn header_bytes(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = fmt_shape(shape);
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    if let Some(first) = shape.first() {
        let room = GROWTH_AXIS_DIGITS.saturating_sub(first.to_string().len());
        dict.extend(std::iter::repeat_n(' ', room));
    }
    let line = dict.len() + 1;
    let (version, prefix) = if line + 64 <= 65535 {
        (1u8, 10)
    } else {
        (2u8, 12)
    };
    let pad = 64 - (prefix + line) % 64;
    let hlen = line + pad;
    let mut out = Vec::with_capacity(prefix + hlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(prefix + hlen - 1, b' ');
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests;
