use super::*;
use crate::xorshift::Rng;

/// The reference for [`cut_pieces`]'s end, as it was computed before the quotes were counted
/// once for both the end and the pieces.
/// Where to cut a block off `buf`, which starts at a record boundary: the end of its last whole
/// record (at the end of the input, the end of `buf`), and whether the block may hold a quote.
/// `None` if `buf` holds no whole record yet. The common case, no quotes, costs a search from
/// the end for a line end and a search for quotes that runs on all cores.
pub(in crate::input::csv) fn cut(buf: &[u8], eof: bool) -> Option<(usize, bool)> {
    let end = if eof { buf.len() } else { last_line_end(buf)? };
    let quoted = buf[..end]
        .par_chunks(1 << 20)
        .any(|c| memchr::memchr(b'"', c).is_some());
    if !quoted {
        return Some((end, false));
    }
    Some((last_boundary(buf, eof)?, true))
}

/// The end of the last whole record of `buf`, following quotes (see [`cut`]).
fn last_boundary(buf: &[u8], eof: bool) -> Option<usize> {
    if eof {
        return Some(buf.len());
    }
    last_boundary_after(buf, count_quotes(buf))
}

/// The quotes in `s`, counted on all cores.
fn count_quotes(s: &[u8]) -> usize {
    s.par_chunks(1 << 20).map(|c| count_byte(c, b'"')).sum()
}

/// A random CSV-ish input of about `len` bytes: fields as real files hold them (quoted ones
/// with delimiters and doubled quotes inside, line ends of every kind) mixed with single bytes
/// that make quoted line breaks, blank lines and stray quotes. How much of each varies from
/// input to input, so that some follow the rules throughout and others break them often.
pub(in crate::input::csv) fn random_input(rng: &mut Rng, len: usize) -> Vec<u8> {
    const BYTES: &[u8] = b"a,\"\n\r \t1.";
    const FIELDS: &[&[u8]] = &[
        b"a",
        b"1.5",
        b",",
        b",",
        b"\n",
        b"\r\n",
        b"\"a,\"\"b\"\"\"",
        b"\"\"",
    ];
    let noise = rng.below(6);
    let mut s = Vec::with_capacity(len + 8);
    while s.len() < len {
        if rng.below(64) < noise {
            s.push(BYTES[rng.below(BYTES.len())]);
        } else {
            s.extend_from_slice(FIELDS[rng.below(FIELDS.len())]);
        }
    }
    s
}

/// Whether `s` holds no whole record: no line end outside quotes, but perhaps a CR at the
/// very end, which an LF may follow.
fn no_whole_record(s: &[u8]) -> bool {
    match record_end(s, 0, false) {
        None => true,
        Some((e, _)) => e == s.len() || (e + 1 == s.len() && s[e] == b'\r'),
    }
}

/// A block is cut after its last whole record.
#[test]
fn blocks_are_cut_after_the_last_whole_record() {
    let mut rng = Rng(99);
    for _ in 0..5000 {
        let len = rng.below(300);
        let buf = random_input(&mut rng, len);
        let Some((end, quoted)) = cut(&buf, false) else {
            assert!(no_whole_record(&buf), "{:?}", String::from_utf8_lossy(&buf));
            continue;
        };
        assert!(quoted || !buf[..end].contains(&b'"'));
        assert!(no_whole_record(&buf[end..]));
        // A CR at the end of what was read may be the first half of a CRLF.
        assert!(end < buf.len() || buf.last() != Some(&b'\r'));
        // Record after record, the block ends where one does.
        let mut i = 0;
        while i < end {
            i = record_end(&buf, i, false).expect("a closed record").1;
        }
        assert_eq!(i, end, "{:?}", String::from_utf8_lossy(&buf));
    }
}

/// Cutting and splitting with one count of the quotes gives the block that [`cut`] gives, in
/// pieces that end where records do.
#[test]
fn cut_pieces_equals_cut_then_split() {
    let mut rng = Rng(2024);
    for _ in 0..5000 {
        let len = rng.below(600);
        let buf = random_input(&mut rng, len);
        let eof = rng.below(3) == 0;
        let n = 1 + rng.below(32);
        let Some((end, pieces)) = cut_pieces(&buf, eof, n) else {
            assert_eq!(cut(&buf, eof), None);
            continue;
        };
        assert_eq!(cut(&buf, eof).map(|(e, _)| e), Some(end));
        assert_eq!(pieces.concat(), &buf[..end]);
        let mut at = 0;
        for p in pieces {
            assert!(!p.is_empty());
            at += p.len();
            // A piece ends where a record does, following the records from the start.
            let mut i = 0;
            while i < at {
                let Some((_, next)) = record_end(&buf[..end], i, false) else {
                    break;
                };
                i = next;
            }
            assert!(i == at || at == end, "{:?}", String::from_utf8_lossy(&buf));
        }
    }
}

/// Bytes are counted as one by one, at every length around the chunks' and vectors' sizes.
#[test]
fn count_byte_counts_every_byte() {
    let mut rng = Rng(31);
    for len in (0..1200).chain([192 * 255, 192 * 256 + 7]) {
        let s: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    b'"'
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        for x in [b'"', b'\n', 0] {
            assert_eq!(count_byte(&s, x), s.iter().filter(|&&b| b == x).count());
        }
    }
}
