use super::*;
use crate::xorshift::Rng;

/// The reference for [`cut_pieces`]'s end, as it was computed before the quotes were counted
/// once for both the end and the pieces.
/// Where to cut a block off `buf`, which starts at a record boundary: the end of its last whole
/// record (at the end of the input, the end of `buf`), and whether the block may hold a quote.
/// `None` if `buf` holds no whole record yet. The common case, no quotes, costs a search from
/// the end for a line end and a search for quotes that runs on all cores.
fn cut(buf: &[u8], eof: bool) -> Option<(usize, bool)> {
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
fn random_input(rng: &mut Rng, len: usize) -> Vec<u8> {
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

fn same(a: &Count, b: &Count) -> bool {
    a.rows == b.rows && a.lines == b.lines && a.error == b.error
}

fn show(c: &Count) -> String {
    format!("rows {} lines {} error {:?}", c.rows, c.lines, c.error)
}

#[test]
fn masks_match_a_byte_loop() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..2000 {
        let chunk: [u8; 64] = std::array::from_fn(|_| match rng.below(3) {
            0 => rng.next() as u8,
            _ => b"\"\n\r \t\x0c\x0ba"[rng.below(8)],
        });
        assert_eq!(Masks::of(&chunk), Masks::of_bytes(&chunk), "{chunk:?}");
        let n = rng.below(64);
        let mut padded = [0; 64];
        padded[..n].copy_from_slice(&chunk[..n]);
        assert_eq!(Masks::of(&chunk[..n]), Masks::of_bytes(&padded));
    }
}

#[test]
fn prefix_xor_is_the_parity_of_the_bits_so_far() {
    let mut rng = Rng(12345);
    for _ in 0..1000 {
        let x = rng.next() & rng.next();
        let p = prefix_xor(x);
        for i in 0..64 {
            let ones = (x & (u64::MAX >> (63 - i))).count_ones();
            assert_eq!(p >> i & 1, u64::from(ones % 2), "{x:#x} bit {i}");
        }
    }
}

/// The bitmask count agrees with the record-by-record count on every input, whichever of them
/// ends up counting it, and takes the fast path on a fair share of them.
#[test]
fn quoted_count_agrees_with_counting_records() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut fast = 0;
    let cases = 20_000;
    for case in 0..cases {
        let len = rng.below(if case % 4 == 0 { 400 } else { 100 });
        let piece = random_input(&mut rng, len);
        for ncols in [1, 3] {
            let got = count_piece(&piece, true, b',', ncols);
            let want = count_records(&piece, b',', ncols);
            assert!(
                same(&got, &want),
                "{:?} ncols {ncols}: {} vs {}",
                String::from_utf8_lossy(&piece),
                show(&got),
                show(&want)
            );
            fast += usize::from(scan_quoted(&piece, ncols > 1).is_some());
        }
    }
    assert!(fast > cases / 10, "fast path taken {fast} times");
}

/// Pieces cut from a block at record boundaries count the same as the whole block.
#[test]
fn pieces_count_as_the_whole_block() {
    let mut rng = Rng(7);
    for _ in 0..5000 {
        let len = rng.below(600);
        let block = random_input(&mut rng, len);
        let Some((end, quoted)) = cut(&block, rng.below(2) == 0) else {
            continue;
        };
        let block = &block[..end];
        let whole = count_records(block, b',', 3);
        if whole.error.is_some() {
            continue;
        }
        let (mut rows, mut lines) = (0, 0);
        let pieces = split_block(block, 1 + rng.below(32), quoted);
        assert_eq!(pieces.concat(), block);
        for p in pieces {
            assert!(!p.is_empty());
            let c = count_piece(p, quoted, b',', 3);
            assert!(c.error.is_none(), "{:?}", String::from_utf8_lossy(p));
            rows += c.rows;
            lines += c.lines;
        }
        assert_eq!((rows, lines), (whole.rows, whole.lines));
    }
}

#[test]
fn quoted_pieces_by_hand() {
    let count = |s: &str, ncols| {
        let c = count_piece(s.as_bytes(), true, b',', ncols);
        (c.rows, c.lines, c.error.map(|(line, _)| line))
    };
    // Quotes holding delimiters and doubled quotes; LF, CRLF and lone CR.
    assert_eq!(
        count("\"Store, 1 \"\"x\"\"\",1,2\nb,3,4\r\nc,5,6\rd,7,8", 3),
        (4, 3, None)
    );
    assert!(scan_quoted(b"\"Store, 1 \"\"x\"\"\",1,2\nb,3,4\r\nc,5,6\rd,7,8", true).is_some());
    // A quoted line break: one record over two lines.
    assert_eq!(count("\"a\nb\",1\nc,2\n", 2), (2, 3, None));
    // Blank lines are skipped in a table of several columns, rows in a table of one.
    assert_eq!(count("\"a\",1\n\n  \nb,2\n", 2), (2, 4, None));
    assert_eq!(count("\"a\"\n\n\"b\"\n", 1), (3, 3, None));
    // A quote never closed is reported at the line its record starts on.
    assert_eq!(count("\"a\",1\nb,2\n\"c,3\nd,4\n", 2), (2, 2, Some(2)));
    // A stray quote that merges lines is found by tokenizing the merged record.
    assert_eq!(count("a,1\nb\"x,2\nc\",3\n", 2).2, Some(1));
}

#[test]
fn quoted_records_over_max_line_are_refused() {
    for len in [MAX_LINE - 128, MAX_LINE, MAX_LINE + 1, MAX_LINE + 5] {
        // A record of `len` bytes with its line end, after a first line of 6.
        let mut piece = b"\"a\",1\n\"b\",".to_vec();
        piece.resize(6 + len - 1, b'2');
        piece.extend_from_slice(b"\n\"c\",3\n");
        let c = count_piece(&piece, true, b',', 2);
        let want = count_records(&piece, b',', 2);
        assert!(same(&c, &want), "{} vs {}", show(&c), show(&want));
        let error = (len > MAX_LINE).then_some(1);
        assert_eq!(c.error.map(|(line, _)| line), error);
        // A record well under the limit stays on the bitmask count.
        assert_eq!(scan_quoted(&piece, true).is_some(), len <= MAX_LINE - 128);
        // The same record last, without a line end.
        piece.truncate(6 + len - 1);
        let c = count_piece(&piece, true, b',', 2);
        assert!(same(&c, &count_records(&piece, b',', 2)), "{}", show(&c));
    }
    // Many lines of 130 bytes, most 64-byte chunks without a line end, stay on it too.
    let line = format!("\"a,\"\"b\"\"\",{}\n", "1".repeat(120));
    let n = 3 * MAX_LINE / line.len();
    assert_eq!(scan_quoted(line.repeat(n).as_bytes(), true), Some(n as u64));
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
