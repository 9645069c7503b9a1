//! The CSV reader with fuzzed options: the first byte picks the delimiter, the second the
//! header mode. The whole table is read once in one go, and again as a column and all columns
//! streamed side by side in small reads; both must agree, and column look-ups must hold.
#![no_main]

use std::io::Cursor;

use huber::input::csv::{Table, parse_number, read_table};
use huber::input::{HeaderMode, Source};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [d, h, rest @ ..] = data else {
        return;
    };
    let delimiter = [b',', b'\t', b';', b' ', b'|', b':'][usize::from(*d) % 6];
    let header = [HeaderMode::Detect, HeaderMode::Present, HeaderMode::Absent][usize::from(*h) % 3];
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_number(text);
    }
    let Ok((layout, whole)) = read_table(Cursor::new(rest.to_vec()), delimiter, header) else {
        return;
    };
    assert_eq!(whole.len(), layout.rows * layout.ncols);
    for key in ["0", "1", "2", "pred", "18446744073709551616"] {
        if let Ok(c) = layout.column(key) {
            assert!(c < layout.ncols);
        }
    }
    if let Some(names) = &layout.names {
        for n in names {
            assert!(layout.column(n).is_ok());
        }
    }
    let table = Table::new(Box::new(Cursor::new(rest.to_vec())), layout.clone(), delimiter)
        .expect("a table that read whole opens again");
    let mut first = table.reader(Some("1")).expect("column 1 exists");
    let mut all = table.reader(None).expect("all columns");
    let (mut col, mut rows) = (Vec::new(), Vec::new());
    let mut buf = [0.0f64; 3];
    while col.len() < layout.rows {
        let n = buf.len().min(layout.rows - col.len());
        first.read_f64(&mut buf[..n]).expect("the first column streams");
        col.extend_from_slice(&buf[..n]);
        let mut row = vec![0.0; n * layout.ncols];
        all.read_f64(&mut row).expect("all columns stream");
        rows.extend(row);
    }
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same(&rows, &whole));
    let firsts: Vec<f64> = whole.iter().step_by(layout.ncols).copied().collect();
    assert!(same(&col, &firsts));
});
