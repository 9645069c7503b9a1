//! Compressed inputs: gzip, zstd, bzip2, xz and LZ4 frames, found by their magic bytes whatever
//! the file is called, and inflated as a stream under the format's reader. The inflater runs on
//! a thread of its own, a few blocks ahead of the reader (bounded: a decompression bomb fills
//! those blocks and waits, as any stream does), so that a table is parsed while the next bytes
//! are inflated.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// The compression formats recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    Lz4,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
            Codec::Lz4 => "lz4",
        })
    }
}

/// The bytes [`detect`] looks at.
pub(crate) const MAGIC_LEN: usize = 6;

/// The codec whose magic bytes `head` starts with.
pub(crate) fn detect(head: &[u8]) -> Option<Codec> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Codec::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Codec::Zstd)
    } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        Some(Codec::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Codec::Xz)
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some(Codec::Lz4)
    } else {
        None
    }
}

/// The inflated bytes of `input`, compressed with `codec`: concatenated members or frames are
/// read as one stream, as `zcat`, `zstdcat`, `bzcat` and `xzcat` do. Errors name the codec.
pub(crate) fn decoder(codec: Codec, input: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    let input = BufReader::with_capacity(1 << 16, input);
    let inner: Box<dyn Read + Send> = match codec {
        Codec::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
        Codec::Zstd => match zstd::stream::read::Decoder::with_buffer(input) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(Failed(Some(e))),
        },
        Codec::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        Codec::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
        Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(input)),
    };
    Box::new(ReadAhead::spawn(Box::new(Labeled { codec, inner })))
}

/// A decoder that could not be made: its error, at the first read.
struct Failed(Option<io::Error>);

impl Read for Failed {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(self.0.take().unwrap_or_else(|| io::ErrorKind::Other.into()))
    }
}

/// A decoder whose errors say which codec found them (`gzip: invalid gzip header`).
struct Labeled {
    codec: Codec,
    inner: Box<dyn Read + Send>,
}

impl Read for Labeled {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let kind = e.kind();
                    let reason = crate::message::io_reason(&e);
                    let reason = match kind {
                        io::ErrorKind::UnexpectedEof if !reason.contains("end") => {
                            format!("{reason} (the compressed data ends early)")
                        }
                        _ => reason,
                    };
                    // The decoder may name itself already ("bzip2: invalid data").
                    let name = self.codec.to_string();
                    let reason = reason
                        .strip_prefix(&format!("{name}: "))
                        .map_or(reason.clone(), str::to_string);
                    return Err(io::Error::new(kind, format!("{name}: {reason}")));
                }
                ok => return ok,
            }
        }
    }
}

/// The size of the blocks the inflating thread hands over, and how many it may have ready.
const BLOCK: usize = 1 << 18;
const AHEAD: usize = 8;

/// A stream read on a thread of its own, up to `AHEAD` blocks ahead of its reader. The thread
/// ends at the stream's end or error, or when the reader is dropped.
struct ReadAhead {
    blocks: Receiver<io::Result<Vec<u8>>>,
    /// Spent blocks, sent back to be filled again.
    spent: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    fn spawn(mut input: Box<dyn Read + Send>) -> ReadAhead {
        let (tx, blocks) = sync_channel(AHEAD);
        let (spent, recycled) = sync_channel::<Vec<u8>>(AHEAD + 2);
        let fill = move || {
            loop {
                let mut block = recycled.try_recv().unwrap_or_default();
                block.clear();
                block.reserve_exact(BLOCK);
                let got = (&mut input).take(BLOCK as u64).read_to_end(&mut block);
                let end = !matches!(got, Ok(n) if n > 0);
                let sent = match got {
                    Ok(0) => Ok(()),
                    Ok(_) => tx.send(Ok(block)),
                    Err(e) => tx.send(Err(e)),
                };
                if end || sent.is_err() {
                    return;
                }
            }
        };
        let spawned = std::thread::Builder::new()
            .name("huber-inflate".into())
            .spawn(fill);
        // Without a thread (none can be made), the reader gets the error on its first read.
        let blocks = match spawned {
            Ok(_) => blocks,
            Err(e) => {
                let (tx, failed) = sync_channel(1);
                let _ = tx.send(Err(e));
                failed
            }
        };
        ReadAhead {
            blocks,
            spent,
            current: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.blocks.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.current, block);
                    let _ = self.spent.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate(codec: Codec, data: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder(codec, Box::new(io::Cursor::new(data))).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn every_codec_round_trips_in_blocks() {
        let text: Vec<u8> = (0..300_000u32)
            .flat_map(|i| format!("{i},{}\n", i * 7).into_bytes())
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        for (codec, data) in [(Codec::Gzip, gz), (Codec::Zstd, zst)] {
            assert_eq!(detect(&data), Some(codec));
            assert_eq!(inflate(codec, data).unwrap(), text);
        }
    }

    #[test]
    fn a_corrupt_stream_names_its_codec() {
        let mut data = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        data.extend_from_slice(&[0xff; 64]);
        let e = inflate(Codec::Gzip, data).unwrap_err();
        assert!(e.to_string().starts_with("gzip: "), "{e}");
        let e = inflate(Codec::Zstd, vec![0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff]).unwrap_err();
        assert!(e.to_string().starts_with("zstd: "), "{e}");
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(b"BZh91AY&SY"), Some(Codec::Bzip2));
        assert_eq!(detect(b"BZh0"), None);
        assert_eq!(detect(b"\xfd7zXZ\x00"), Some(Codec::Xz));
        assert_eq!(detect(b"\x04\x22\x4d\x18"), Some(Codec::Lz4));
        assert_eq!(detect(b"pred,target\n"), None);
        assert_eq!(detect(b"\x93NUMPY"), None);
    }
}
