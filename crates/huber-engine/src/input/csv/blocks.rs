//! Where a table's bytes come from, a block at a time: a stream read into a buffer, or a
//! regular file mapped into memory one window at a time. A mapped window costs no copy, and its
//! pages are brought in by the threads that parse them rather than by one thread's `read`.

use std::fs::File;
use std::io::Read;

use anyhow::{Context, Result};
use memmap2::Mmap;

use crate::input::mapped;

/// A table's bytes from some position on.
pub(crate) enum Blocks<'a> {
    /// Read from a stream into a buffer; `eof` once the stream has ended.
    Stream {
        reader: Box<dyn Read + Send + 'a>,
        buf: Vec<u8>,
        eof: bool,
    },
    /// A regular file of `len` bytes read from `pos` on through a window mapped into memory
    /// (which starts at the offset it is paired with).
    Mapped {
        file: File,
        len: usize,
        pos: usize,
        window: Option<(usize, Mmap)>,
    },
}

impl<'a> Blocks<'a> {
    /// The bytes of a stream from where it stands.
    pub(crate) fn stream(reader: Box<dyn Read + Send + 'a>) -> Blocks<'a> {
        Blocks::Stream {
            reader,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The bytes of `file` from offset `pos` on: mapped if it is a regular file, else read.
    pub(crate) fn file(file: File, pos: usize) -> Result<Blocks<'a>> {
        let meta = file.metadata()?;
        if !meta.is_file() {
            let mut blocks = Blocks::stream(Box::new(file));
            blocks.ahead(pos)?;
            blocks.advance(pos);
            return Ok(blocks);
        }
        let len = usize::try_from(meta.len()).context("the file is too large")?;
        Ok(Blocks::Mapped {
            file,
            len,
            pos: pos.min(len),
            window: None,
        })
    }

    /// The bytes from the current position on: `want` of them (or more, for a stream whose
    /// buffer holds more), fewer only where the input ends; and whether it ends there.
    pub(crate) fn ahead(&mut self, want: usize) -> Result<(&[u8], bool)> {
        match self {
            Blocks::Stream { reader, buf, eof } => {
                if !*eof && buf.len() < want {
                    let more = want - buf.len();
                    // Exactly: `read_to_end` would double the buffer.
                    buf.reserve_exact(more);
                    let n = reader.take(more as u64).read_to_end(buf)?;
                    *eof = n < more;
                }
                Ok((&buf[..], *eof))
            }
            Blocks::Mapped {
                file,
                len,
                pos,
                window,
            } => {
                let end = (*pos + want).min(*len);
                let covered = matches!(window, Some((start, map))
                    if *start <= *pos && *start + map.len() >= end);
                if !covered {
                    // The last window goes first: memory holds one window at a time.
                    *window = None;
                    if end > *pos {
                        *window = Some((*pos, mapped::map(file, *pos as u64, end - *pos)?));
                    }
                }
                let bytes = match window {
                    Some((start, map)) => &map[*pos - *start..end - *start],
                    None => &[],
                };
                Ok((bytes, end == *len))
            }
        }
    }

    /// Moves past the first `n` bytes of what [`Blocks::ahead`] gave.
    pub(crate) fn advance(&mut self, n: usize) {
        match self {
            Blocks::Stream { buf, .. } => {
                buf.drain(..n);
            }
            Blocks::Mapped { pos, .. } => *pos += n,
        }
    }

    /// Whether every byte was moved past.
    pub(crate) fn done(&self) -> bool {
        match self {
            Blocks::Stream { buf, eof, .. } => *eof && buf.is_empty(),
            Blocks::Mapped { len, pos, .. } => pos == len,
        }
    }
}
