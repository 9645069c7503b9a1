//! A stream read ahead on a thread of its own, so that its writer (`zcat` on the other end of
//! a pipe) is not kept waiting while huber parses what it read: a pipe holds 64 KiB, and a
//! writer that finds it full stops until the reader drains it.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, sync_channel};

/// Bytes a piece holds at least (fewer only at the end of the stream).
const PIECE: usize = 256 << 10;
/// Pieces read ahead of the reader: 4 MiB.
const AHEAD: usize = 16;

/// A reader of the pieces a thread reads ahead from the stream.
pub(crate) struct ReadAhead {
    pieces: Receiver<io::Result<Vec<u8>>>,
    piece: Vec<u8>,
    at: usize,
    done: bool,
}

/// `input`, read ahead on a thread of its own; `input` itself where no thread can be started.
pub(crate) fn read_ahead(input: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
    let (give, take) = sync_channel::<Box<dyn Read + Send>>(1);
    let (tx, pieces) = sync_channel(AHEAD);
    let started = std::thread::Builder::new()
        .name("huber-read".into())
        .stack_size(64 << 10)
        .spawn(move || {
            let Ok(mut input) = take.recv() else {
                return;
            };
            loop {
                let piece = fill(&mut input);
                let last = !matches!(&piece, Ok(p) if !p.is_empty());
                // A reader that is gone wants no more.
                if tx.send(piece).is_err() || last {
                    return;
                }
            }
        });
    match started {
        Ok(_) => {
            let _ = give.send(input);
            Box::new(ReadAhead {
                pieces,
                piece: Vec::new(),
                at: 0,
                done: false,
            })
        }
        Err(_) => input,
    }
}

/// The next piece of `input`: at least [`PIECE`] bytes, fewer at its end, none after it.
fn fill(input: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut piece = vec![0u8; PIECE];
    let mut n = 0;
    while n < PIECE {
        match input.read(&mut piece[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    piece.truncate(n);
    Ok(piece)
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.piece.len() {
            if self.done {
                return Ok(0);
            }
            match self.pieces.recv() {
                Ok(Ok(piece)) => {
                    self.done = piece.is_empty();
                    self.piece = piece;
                    self.at = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the thread reading the stream stopped"));
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out its bytes a few at a time, then fails or ends.
    struct Trickle(Vec<u8>, usize, bool);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 == self.0.len() {
                return match self.2 {
                    true => Err(io::Error::other("broken")),
                    false => Ok(0),
                };
            }
            let n = buf.len().min(7).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn gives_every_byte_in_order_then_the_end_or_the_error() {
        let data: Vec<u8> = (0..(3 * PIECE + 11))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut got = Vec::new();
        read_ahead(Box::new(Trickle(data.clone(), 0, false)))
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, data);
        let mut got = Vec::new();
        let e = read_ahead(Box::new(Trickle(data.clone(), 0, true)))
            .read_to_end(&mut got)
            .unwrap_err();
        assert_eq!(e.to_string(), "broken");
        // What was read before the error comes first (the run fails with the error anyway).
        assert!(data.starts_with(&got));
        let mut none = Vec::new();
        read_ahead(Box::new(io::empty()))
            .read_to_end(&mut none)
            .unwrap();
        assert!(none.is_empty());
    }
}
