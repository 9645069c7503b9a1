//! The CSV reader with fuzzed options: the first byte picks the delimiter, the second the
//! header mode and the line end of a rewrite. The whole table is read once in one go, again in
//! one pass without counting its rows first (which must fail exactly when the counted read
//! does, and else give the same values), and again as a column and all columns streamed side
//! by side in small reads; all must agree, and
//! column look-ups must hold. Then the numbers read are written back with every field quoted
//! (quoted line breaks and doubled quotes in a text column beside them) and must read back
//! the same, bit for bit.
#![no_main]

use std::io::Cursor;

use huber_engine::internals::{Layout, Table, parse_number, scan, scan_uncounted};
use huber_engine::internals::{Buf, Source};
use huber_engine::HeaderMode;
use libfuzzer_sys::fuzz_target;

/// Reads a whole table into memory: its layout and values row by row.
fn read_table(bytes: Vec<u8>, delimiter: u8, header: HeaderMode) -> Option<(Layout, Vec<f64>)> {
    let layout = scan(&mut Cursor::new(&bytes[..]), delimiter, header).ok()?;
    let table = Table::new(Box::new(Cursor::new(bytes)), layout.clone(), delimiter).ok()?;
    let mut src = table.reader(None).ok()?;
    let mut data = vec![0.0; layout.rows * layout.ncols];
    src.read(Buf::F64(&mut data)).ok()?;
    Some((layout, data))
}

/// Reads a whole table in one pass, in small reads up to its end, without counting its rows
/// first: its values row by row.
fn read_one_pass(bytes: &[u8], delimiter: u8, header: HeaderMode) -> Option<Vec<f64>> {
    let len = Some(bytes.len() as u64);
    let layout = scan_uncounted(&mut Cursor::new(bytes), len, delimiter, header).ok()?;
    let table = Table::new(Box::new(Cursor::new(bytes.to_vec())), layout.clone(), delimiter).ok()?;
    let mut src = table.reader(None).ok()?;
    let (mut data, mut buf) = (Vec::new(), vec![0.0; 5 * layout.ncols + 1]);
    loop {
        let n = src.read_upto(Buf::F64(&mut buf)).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    src.finish().ok()?;
    assert!(data.len() <= layout.rows * layout.ncols, "more than the bound");
    Some(data)
}

fuzz_target!(|data: &[u8]| {
    let [d, h, rest @ ..] = data else {
        return;
    };
    let delimiter = [b',', b'\t', b';', b' ', b'|', b':'][usize::from(*d) % 6];
    let header = [HeaderMode::Detect, HeaderMode::Present, HeaderMode::Absent][usize::from(*h) % 3];
    let end: &[u8] = [&b"\n"[..], b"\r\n", b"\r"][usize::from(*h / 3) % 3];
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_number(text);
    }
    let counted = read_table(rest.to_vec(), delimiter, header);
    let one_pass = read_one_pass(rest, delimiter, header);
    assert_eq!(counted.is_some(), one_pass.is_some(), "one read failed, the other not");
    let Some((layout, whole)) = counted else {
        return;
    };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&whole), bits(&one_pass.unwrap_or_default()));
    assert_eq!(whole.len(), layout.rows * layout.ncols);
    for key in ["0", "1", "2", "pred", "18446744073709551616"] {
        if let Ok(c) = layout.column(key) {
            assert!(c < layout.ncols);
        }
    }
    if let Some(names) = &layout.names {
        // A name finds its column, unless two columns hold it (then the KEY is refused), or
        // it reads `#N`, which always picks column N by number.
        let numbered = |n: &str| n.strip_prefix('#').is_some_and(|k| k.parse::<usize>().is_ok());
        for n in names.iter().filter(|n| !numbered(n)) {
            let held = names.iter().filter(|m| *m == n).count();
            assert_eq!(layout.column(n).is_ok(), held == 1);
        }
    }
    let table = Table::new(Box::new(Cursor::new(rest.to_vec())), layout.clone(), delimiter)
        .expect("a table that read whole opens again");
    let mut first = table.reader(Some("#1")).expect("column 1 exists");
    let mut all = table.reader(None).expect("all columns");
    let (mut col, mut rows) = (Vec::new(), Vec::new());
    let mut buf = [0.0f64; 3];
    while col.len() < layout.rows {
        let n = buf.len().min(layout.rows - col.len());
        first.read(Buf::F64(&mut buf[..n])).expect("the first column streams");
        col.extend_from_slice(&buf[..n]);
        let mut row = vec![0.0; n * layout.ncols];
        all.read(Buf::F64(&mut row)).expect("all columns stream");
        rows.extend(row);
    }
    let same = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same(&rows, &whole));
    let firsts: Vec<f64> = whole.iter().step_by(layout.ncols).copied().collect();
    assert!(same(&col, &firsts));
    let quoted = requote(&whole, layout.ncols, delimiter, end);
    let again = scan(&mut Cursor::new(&quoted[..]), delimiter, HeaderMode::Present)
        .expect("a quoted rewrite scans");
    assert_eq!((again.rows, again.ncols), (layout.rows, layout.ncols + 1));
    let table = Table::new(Box::new(Cursor::new(quoted)), again, delimiter)
        .expect("a quoted rewrite opens");
    let same_or_nan = |a: f64, b: f64| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan();
    // Every reader is made before the first read: a table is parsed once for all of them.
    let mut columns: Vec<_> = (0..layout.ncols)
        .map(|k| table.reader(Some(&format!("#{}", k + 2))).expect("the column exists"))
        .collect();
    for (k, column) in columns.iter_mut().enumerate() {
        let mut got = vec![0.0; layout.rows];
        column.read(Buf::F64(&mut got)).expect("a quoted rewrite reads");
        let want = whole.iter().skip(k).step_by(layout.ncols);
        assert!(got.iter().zip(want).all(|(a, b)| same_or_nan(*a, *b)));
    }
});

/// The table written back as RFC 4180 with every field quoted, a header, and a first column of
/// text (not read) that holds the delimiter, a doubled quote and a line break.
fn requote(values: &[f64], ncols: usize, delimiter: u8, end: &[u8]) -> Vec<u8> {
    let d = char::from(delimiter).to_string();
    let line = |fields: Vec<String>, out: &mut Vec<u8>| {
        out.extend(fields.join(&d).as_bytes());
        out.extend(end);
    };
    let mut out = Vec::new();
    line((0..=ncols).map(|k| format!("\"c{k}\"\"{d}\"")).collect(), &mut out);
    let text = format!("\"a{d}\"\"b{}c\"", String::from_utf8_lossy(end));
    for row in values.chunks(ncols) {
        let mut fields = vec![text.clone()];
        fields.extend(row.iter().map(|x| format!("\"{x:?}\"")));
        line(fields, &mut out);
    }
    out
}
