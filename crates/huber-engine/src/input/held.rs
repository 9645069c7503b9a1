//! Streams held to be read again (stdin or a pipe that several inputs name, a CSV table counted
//! first, Parquet or Arrow on stdin), as `sort` holds its input: in memory up to
//! [`HOLD_IN_MEMORY`], beyond that in a temporary file in `$TMPDIR`, unlinked as it is created so
//! that nothing is left behind however the process ends.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use anyhow::{Context, Result, ensure};

use super::csv;

/// The most bytes of a held stream kept in memory; the rest goes to a temporary file.
pub const HOLD_IN_MEMORY: usize = 32 << 20;
/// The most bytes of a held stream written to the temporary file: far more than any input huber
/// is meant for, and a bound on the disk an endless stream can take.
pub const MAX_SPILL: u64 = 64 << 30;

/// A stream's bytes, held.
#[derive(Clone, Debug)]
pub enum Held {
    /// In memory.
    Mem(Arc<[u8]>),
    /// In an unlinked temporary file, and its length.
    File(Arc<File>, u64),
}

impl Held {
    /// The number of bytes.
    pub fn len(&self) -> u64 {
        match self {
            Held::Mem(b) => b.len() as u64,
            Held::File(_, n) => *n,
        }
    }

    /// The first bytes (at most `n`), to tell the format by.
    pub fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let n = n.min(self.len() as usize);
        match self {
            Held::Mem(b) => Ok(b[..n].to_vec()),
            Held::File(f, _) => {
                let mut buf = vec![0; n];
                f.read_exact_at(&mut buf, 0)?;
                Ok(buf)
            }
        }
    }

    /// A reader from the start, of its own position.
    pub fn reader(&self) -> HeldReader {
        HeldReader {
            held: self.clone(),
            pos: 0,
        }
    }
}

/// Reads a [`Held`] stream from a position of its own (a spilled file is read by position, so
/// that any number of readers share its descriptor).
pub struct HeldReader {
    held: Held,
    pos: u64,
}

impl Read for HeldReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.held.len().saturating_sub(self.pos);
        let want = (buf.len() as u64).min(left) as usize;
        let n = match &self.held {
            Held::Mem(b) => {
                let at = self.pos as usize;
                buf[..want].copy_from_slice(&b[at..at + want]);
                want
            }
            Held::File(f, _) => f.read_at(&mut buf[..want], self.pos)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for HeldReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.held.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos =
            pos.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before 0"))?;
        Ok(self.pos)
    }
}

/// Reads a stream to its end, to be read again: in memory up to [`HOLD_IN_MEMORY`] bytes, the
/// rest spilled to a temporary file. A text stream is refused as soon as it holds more bytes
/// without a line end than a record may have ([`csv::MAX_LINE`]): an endless stream of zeros
/// fails at once, instead of filling memory or disk before anything is checked.
pub fn hold(head: Vec<u8>, input: &mut dyn Read, text: bool) -> Result<Held> {
    hold_in(head, input, text, HOLD_IN_MEMORY)
}

/// [`hold`], with at most `in_memory` bytes in memory.
fn hold_in(head: Vec<u8>, input: &mut dyn Read, text: bool, in_memory: usize) -> Result<Held> {
    let mut lines = Lines::new(&head);
    let mut mem = head;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = read_some(input, &mut buf)?;
        if n == 0 {
            return Ok(Held::Mem(mem.into()));
        }
        if text {
            lines.check(&buf[..n])?;
        }
        if mem.len() + n > in_memory {
            return spill(mem, &buf[..n], input, text.then_some(lines));
        }
        mem.extend_from_slice(&buf[..n]);
    }
}

/// Moves what was held in memory to a temporary file and writes the rest of `input` after it.
fn spill(mem: Vec<u8>, got: &[u8], input: &mut dyn Read, mut lines: Option<Lines>) -> Result<Held> {
    let dir = std::env::temp_dir();
    let fail = |e: io::Error| {
        anyhow::anyhow!(
            "cannot hold the input in a temporary file in {} (set TMPDIR to a folder with room): {}",
            dir.display(),
            crate::message::io_reason(&e)
        )
    };
    let mut file = tempfile::tempfile_in(&dir).map_err(fail)?;
    let mut len = (mem.len() + got.len()) as u64;
    file.write_all(&mem).map_err(fail)?;
    drop(mem);
    file.write_all(got).map_err(fail)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_some(input, &mut buf)?;
        if n == 0 {
            break;
        }
        if let Some(lines) = &mut lines {
            lines.check(&buf[..n])?;
        }
        len += n as u64;
        ensure!(
            len <= MAX_SPILL,
            "the input is longer than {} GiB, the most huber holds to read it again",
            MAX_SPILL >> 30
        );
        file.write_all(&buf[..n]).map_err(fail)?;
    }
    file.flush().map_err(fail)?;
    Ok(Held::File(Arc::new(file), len))
}

fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.context("cannot read"),
        }
    }
}

/// Bytes since the last line end, and line ends so far, of a text stream.
struct Lines {
    run: usize,
    lines: usize,
}

impl Lines {
    fn new(head: &[u8]) -> Lines {
        let mut l = Lines { run: 0, lines: 0 };
        l.run = head.len();
        l
    }

    /// Counts `got`, failing once a line is longer than a record may be.
    fn check(&mut self, got: &[u8]) -> Result<()> {
        match memchr::memrchr2(b'\n', b'\r', got) {
            Some(i) => self.run = got.len() - 1 - i,
            None => self.run += got.len(),
        }
        self.lines += memchr::memchr_iter(b'\n', got).count();
        ensure!(
            self.run <= csv::MAX_LINE,
            "line {}{}",
            self.lines + 1,
            csv::too_long()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(held: &Held) -> Vec<u8> {
        let mut out = Vec::new();
        held.reader().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn a_stream_over_the_memory_bound_is_spilled_and_read_back_whole() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("{i},1\n").into_bytes())
            .collect();
        for in_memory in [0, 10, data.len() - 1, data.len(), data.len() + 1] {
            let (head, rest) = data.split_at(5);
            let held = hold_in(head.to_vec(), &mut &rest[..], true, in_memory).unwrap();
            let spilled = matches!(held, Held::File(..));
            assert_eq!(spilled, data.len() > in_memory.max(5), "{in_memory}");
            assert_eq!(held.len(), data.len() as u64);
            assert_eq!(held.head(8).unwrap(), &data[..8]);
            // Two readers of their own positions.
            let (mut a, mut b) = (held.reader(), held.reader());
            let mut x = [0u8; 7];
            a.seek(SeekFrom::Start(1000)).unwrap();
            a.read_exact(&mut x).unwrap();
            assert_eq!(&x, &data[1000..1007]);
            b.read_exact(&mut x).unwrap();
            assert_eq!(&x, &data[..7]);
            assert_eq!(read_all(&held), data);
        }
    }

    #[test]
    fn a_text_stream_without_line_ends_fails_in_memory_and_spilled() {
        for in_memory in [0, 1 << 30] {
            let mut endless = io::repeat(b'0').take(8 << 20);
            let err = hold_in(Vec::new(), &mut endless, true, in_memory).unwrap_err();
            assert!(
                err.to_string()
                    .contains("line 1: a record is longer than 1 MiB"),
                "{err}"
            );
            // Binary streams have no lines.
            let mut zeros = io::repeat(0).take(3 << 20);
            let held = hold_in(Vec::new(), &mut zeros, false, in_memory).unwrap();
            assert_eq!(held.len(), 3 << 20);
        }
    }
}
