use super::*;
use crate::input::csv::frame::split_block;
use crate::input::csv::frame::tests::{cut, random_input};
use crate::xorshift::Rng;

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
    for len in [MAX_LINE - 129, MAX_LINE, MAX_LINE + 1, MAX_LINE + 5] {
        // A record of `len` bytes and its line end, after a first line of 6: the limit is on
        // the record without its line end, as on every other path.
        let mut piece = b"\"a\",1\n\"b\",".to_vec();
        piece.resize(6 + len, b'2');
        piece.extend_from_slice(b"\n\"c\",3\n");
        let c = count_piece(&piece, true, b',', 2);
        let want = count_records(&piece, b',', 2);
        assert!(same(&c, &want), "{} vs {}", show(&c), show(&want));
        let error = (len > MAX_LINE).then_some(1);
        assert_eq!(c.error.map(|(line, _)| line), error);
        // A record well under the limit stays on the bitmask count.
        assert_eq!(scan_quoted(&piece, true).is_some(), len < MAX_LINE - 128);
        // The same record last, without a line end.
        piece.truncate(6 + len);
        let c = count_piece(&piece, true, b',', 2);
        assert!(same(&c, &count_records(&piece, b',', 2)), "{}", show(&c));
    }
    // Many lines of 130 bytes, most 64-byte chunks without a line end, stay on it too.
    let line = format!("\"a,\"\"b\"\"\",{}\n", "1".repeat(120));
    let n = 3 * MAX_LINE / line.len();
    assert_eq!(scan_quoted(line.repeat(n).as_bytes(), true), Some(n as u64));
}
