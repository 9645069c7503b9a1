use std::cell::Cell;

use proptest::prelude::*;

use super::*;
use crate::input::Buf;

thread_local! {
    /// The block size of the reads on this thread (see `block_size`).
    pub(super) static BLOCK_SIZE: Cell<usize> = const { Cell::new(BLOCK) };
}

/// Reads a whole table into memory: its header (if any), column count and values row by row.
fn read_table(
    input: impl Read + Send + 'static,
    delimiter: u8,
    header: HeaderMode,
) -> Result<(Layout, Vec<f64>)> {
    let mut bytes = Vec::new();
    let mut input = input;
    input.read_to_end(&mut bytes).context("cannot read")?;
    let layout = scan(&mut std::io::Cursor::new(&bytes[..]), delimiter, header)?;
    let table = Table::new(
        Box::new(std::io::Cursor::new(bytes)),
        layout.clone(),
        delimiter,
    )?;
    let mut src = table.reader(None)?;
    let mut data = vec![0.0; layout.rows * layout.ncols];
    src.read(Buf::F64(&mut data))?;
    Ok((layout, data))
}

fn table(s: &str) -> Result<(Layout, Vec<f64>)> {
    read_table(
        std::io::Cursor::new(s.as_bytes().to_vec()),
        b',',
        HeaderMode::Detect,
    )
}

#[test]
fn detects_header_and_spellings() {
    let (l, d) =
        table("\u{feff}pred,target\r\n1, 2\r\n\n\"-inf\",NaN\r\n+Infinity,1e-3\r\n").unwrap();
    assert_eq!(
        l.names.as_deref(),
        Some(&["pred".to_string(), "target".to_string()][..])
    );
    assert_eq!(l.rows, 3);
    assert_eq!(l.column("target").unwrap(), 1);
    assert_eq!(l.column("1").unwrap(), 0);
    assert_eq!(d[2], f64::NEG_INFINITY);
    assert!(d[3].is_nan());
    assert_eq!(d[4], f64::INFINITY);
}

#[test]
fn errors_name_line_and_column() {
    let e = table("1,2\n3,x\n").unwrap_err().to_string();
    assert_eq!(e, "line 2, column 2: 'x' is not a number");
    let e = table("1,2\n3\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 2, column 2: missing field (this row has 1, the first row 2)"
    );
    let e = table("1,2\n3,4,5\n").unwrap_err().to_string();
    assert_eq!(
        e,
        "line 2, column 3: extra field (this row has 3, the first row 2)"
    );
    let e = table("1,2\n\"3,4\n").unwrap_err().to_string();
    assert!(
        e.starts_with("line 2") && e.contains("unterminated quote"),
        "{e}"
    );
    // A header alone is a table of 0 rows.
    let (layout, values) = table("a,b\n").unwrap();
    assert_eq!((layout.rows, values.len()), (0, 0));
    assert!(table("").unwrap_err().to_string().contains("empty"));
    assert!(table("\n \n").unwrap_err().to_string().contains("empty"));
}

/// Column `key` of a table, read through a [`Table`] as the command line does.
fn column(s: &str, key: &str) -> Result<Vec<f64>> {
    let layout = scan(
        &mut std::io::Cursor::new(s.as_bytes()),
        b',',
        HeaderMode::Detect,
    )?;
    let table = Table::new(
        Box::new(std::io::Cursor::new(s.as_bytes().to_vec())),
        layout.clone(),
        b',',
    )?;
    let mut src = table.reader(Some(key))?;
    let mut out = vec![0.0; layout.rows];
    src.read(Buf::F64(&mut out))?;
    Ok(out)
}

#[test]
fn empty_fields_are_missing_values() {
    let (_, d) = table("1,2\n3,\n,\"\"\n").unwrap();
    assert_eq!(d[..3], [1.0, 2.0, 3.0]);
    assert!(d[3..].iter().all(|x| x.is_nan()));
    // A single column: a quoted empty field and an empty line (as polars writes a missing
    // value) are missing values; in several columns an empty line is skipped.
    let (l, d) = table("x\n1\n\"\"\n\n \n2\n").unwrap();
    assert_eq!(l.rows, 5);
    assert!(d[1].is_nan() && d[2].is_nan() && d[3].is_nan() && d[4] == 2.0);
    let (l, _) = table("x,y\n1,2\n\n \n3,4\n").unwrap();
    assert_eq!(l.rows, 2);
}

#[test]
fn only_selected_columns_are_numbers() {
    let s = "id,date,pred,target\nimg001,7,1.5,1\n\"a, \"\"b\"\"\nc\",x,2,2.5\n";
    assert_eq!(column(s, "pred").unwrap(), [1.5, 2.0]);
    assert_eq!(column(s, "target").unwrap(), [1.0, 2.5]);
    let e = column(s, "id").unwrap_err().to_string();
    assert_eq!(e, "line 2, column 1: 'img001' is not a number");
    // The error after a quoted line break names the physical line.
    let e = column(s, "date").unwrap_err().to_string();
    assert_eq!(e, "line 4, column 2: 'x' is not a number");
    let e = table(s).unwrap_err().to_string();
    assert!(e.starts_with("line 2, column 1"), "{e}");
}

#[test]
fn line_ends_and_bom() {
    let want = [1.0, 2.5, -3.0];
    for end in ["\n", "\r\n", "\r"] {
        let body = format!("\u{feff}\"p\"{end}1{end}2.5{end}-3{end}");
        assert_eq!(column(&body, "p").unwrap(), want, "{end:?}");
        let no_last = body.strip_suffix(end).unwrap();
        assert_eq!(column(no_last, "p").unwrap(), want, "{end:?}");
        let quoted = format!("id,p{end}\"a{end}b\",1{end}c,2.5{end}\"{end}\",-3{end}");
        assert_eq!(column(&quoted, "p").unwrap(), want, "{end:?}");
        let e = column(&format!("id,p{end}\"a{end}b\",1{end}c,z{end}"), "p").unwrap_err();
        assert_eq!(e.to_string(), "line 4, column 2: 'z' is not a number");
    }
}

#[test]
fn header_names_are_unescaped_and_checked() {
    let s = "\"tar \"\"get\"\"\",\"a,b\",p,p\n1,2,3,4\n";
    assert_eq!(column(s, "tar \"get\"").unwrap(), [1.0]);
    assert_eq!(column(s, "a,b").unwrap(), [2.0]);
    let e = column(s, "p").unwrap_err().to_string();
    assert!(
        e.contains("columns 3 and 4") && e.contains("#3 or #4"),
        "{e}"
    );
    assert_eq!(column(s, "4").unwrap(), [4.0]);
}

#[test]
fn a_numeric_first_record_is_data_with_a_note() {
    for first in ["0,1", "nan,inf", ",0"] {
        let s = format!("{first}\n2,3\n");
        let (l, d) = table(&s).unwrap();
        assert_eq!((l.names.as_ref(), l.rows, d.len()), (None, 2, 4));
        let note = l.note.unwrap();
        assert!(note.contains(first) && note.contains("--header"), "{note}");
        let (l, d) = read_table(
            std::io::Cursor::new(s.into_bytes()),
            b',',
            HeaderMode::Present,
        )
        .unwrap();
        assert_eq!((l.rows, d.len(), l.note), (1, 2, None));
    }
    assert_eq!(table("a,1\n2,3\n").unwrap().0.note, None);
}

#[test]
fn stray_quotes_are_refused_where_they_break_records() {
    // A quote inside an unquoted field that leaves the count odd makes the quote count and the
    // tokenizer disagree: an error, never a silent merge of records.
    let e = table("a,b\n1,2\"x\n3,4\n5,\"6\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("quote"), "{e}");
    assert!(e.starts_with("line 3") || e.starts_with("line 2"), "{e}");
    // An even number of them is taken literally, as csv-core and Python's csv module do.
    let s = "id,p\n5\" by 3\",1\n";
    assert_eq!(column(s, "p").unwrap(), [1.0]);
}

#[test]
fn unknown_key_lists_columns() {
    let (l, _) = table("a,b\n1,2\n").unwrap();
    assert!(l.column("c").unwrap_err().to_string().contains("a, b"));
}

#[test]
fn hex_and_underscores_are_not_numbers() {
    for s in ["0x10", "1_000", "", " ", "1e", "--1", "\""] {
        assert_eq!(parse_number(s), None, "{s}");
    }
    assert_eq!(parse_number(" 2.5 "), Some(2.5));
    assert_eq!(parse_number(" \" 2.5\" "), Some(2.5));
}

#[test]
fn many_blocks_and_pieces_keep_order_and_lines() {
    let mut s = String::from("x,y\n");
    for i in 0..300_000 {
        s.push_str(&format!("{i},{}\n", i * 2));
    }
    s.push_str("1,oops\n");
    let e = table(&s).unwrap_err().to_string();
    assert!(e.starts_with("line 300002, column 2"), "{e}");
    s.truncate(s.len() - "1,oops\n".len());
    let (l, d) = table(&s).unwrap();
    assert_eq!(l.rows, 300_000);
    assert!(
        d.chunks(2)
            .enumerate()
            .all(|(i, r)| r[0] == i as f64 && r[1] == 2.0 * i as f64)
    );
}

/// A column of a generated table: numbers (some missing) or text.
#[derive(Debug, Clone)]
enum Col {
    Numbers(Vec<Option<f64>>),
    Text(Vec<String>),
}

fn number_strategy() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        8 => any::<f64>().prop_map(Some),
        4 => (-1000i32..1000, 0u32..4).prop_map(|(m, e)| Some(f64::from(m) / 10f64.powi(e as i32))),
        1 => Just(Some(f64::INFINITY)),
        1 => Just(Some(f64::NEG_INFINITY)),
        1 => Just(Some(-0.0)),
        2 => Just(None),
    ]
}

fn text_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("Zürich"),
            Just(","),
            Just("\""),
            Just("\"\""),
            Just("\n"),
            Just("\r\n"),
            Just("\r"),
            Just(" "),
            Just("\t"),
            Just("1.5"),
            Just("x;y"),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

/// A table of 1–5 columns and 1–40 rows, its header names, and how to write it: quoting
/// (0 always, 1 where needed, 2 all but numbers), line end, delimiter, number spelling.
fn table_strategy() -> impl Strategy<Value = (Vec<String>, Vec<Col>, u8, u8, u8, bool)> {
    (1usize..6, 1usize..40).prop_flat_map(|(ncols, nrows)| {
        let col = move |k: usize| {
            if k == 0 || ncols == 1 {
                proptest::collection::vec(number_strategy(), nrows)
                    .prop_map(Col::Numbers)
                    .boxed()
            } else {
                prop_oneof![
                    proptest::collection::vec(number_strategy(), nrows).prop_map(Col::Numbers),
                    proptest::collection::vec(text_strategy(), nrows).prop_map(Col::Text),
                ]
                .boxed()
            }
        };
        // A name of spaces alone would make a one-column header a blank line, which is skipped.
        let names = proptest::collection::vec(text_strategy(), ncols).prop_map(|names| {
            names
                .iter()
                .enumerate()
                .map(|(k, n)| format!("c{k}{n}"))
                .collect::<Vec<_>>()
        });
        (
            names,
            (0..ncols).map(col).collect::<Vec<_>>(),
            0u8..3,
            0u8..3,
            0u8..3,
            any::<bool>(),
        )
    })
}

/// Writes a table with the `csv` crate, as another program would.
fn write_table(
    names: &[String],
    cols: &[Col],
    quoting: u8,
    end: u8,
    delim: u8,
    sci: bool,
) -> Vec<u8> {
    let delimiter = [b',', b';', b'\t'][usize::from(delim)];
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote_style(match quoting {
            0 => ::csv::QuoteStyle::Always,
            1 => ::csv::QuoteStyle::Necessary,
            _ => ::csv::QuoteStyle::NonNumeric,
        })
        .terminator(match end {
            0 => ::csv::Terminator::Any(b'\n'),
            1 => ::csv::Terminator::CRLF,
            _ => ::csv::Terminator::Any(b'\r'),
        })
        .from_writer(Vec::new());
    w.write_record(names).unwrap();
    let nrows = match &cols[0] {
        Col::Numbers(v) => v.len(),
        Col::Text(v) => v.len(),
    };
    for r in 0..nrows {
        let row = cols.iter().map(|c| match c {
            Col::Numbers(v) => match v[r] {
                None => String::new(),
                Some(x) if x.is_nan() => "NaN".into(),
                Some(x) if sci && x.is_finite() => format!("{x:e}"),
                Some(x) => format!("{x}"),
            },
            Col::Text(v) => v[r].clone(),
        });
        w.write_record(row).unwrap();
    }
    w.into_inner().unwrap()
}

/// What [`read_columns`] reads: every numeric column as numbers, and every column as text.
type Columns = (Vec<Vec<f64>>, Vec<Vec<Vec<u8>>>);

/// The table of `bytes` (with a header), from a stream or from a file mapped into memory,
/// with its rows counted first or not (then it is read in one pass to its end).
fn open_table(
    bytes: &[u8],
    delimiter: u8,
    (mapped, counted): (bool, bool),
) -> Result<(Layout, Table)> {
    let header = HeaderMode::Present;
    if mapped {
        let mut file = tempfile::tempfile()?;
        std::io::Write::write_all(&mut file, bytes)?;
        let layout = if counted {
            scan_file(file.try_clone()?, delimiter, header)?
        } else {
            file.rewind()?;
            scan_uncounted(&mut file, Some(bytes.len() as u64), delimiter, header)?
        };
        let table = Table::of_file(file, layout.clone(), delimiter)?;
        return Ok((layout, table));
    }
    let mut r = std::io::Cursor::new(bytes);
    let layout = if counted {
        scan(&mut r, delimiter, header)?
    } else {
        scan_uncounted(&mut r, Some(bytes.len() as u64), delimiter, header)?
    };
    let reader = Box::new(std::io::Cursor::new(bytes.to_vec()));
    let table = Table::new(reader, layout.clone(), delimiter)?;
    Ok((layout, table))
}

/// Reads every numeric column of `bytes`, and every column as text, through one table (see
/// [`open_table`]) in blocks of `block` bytes.
fn read_columns(
    bytes: &[u8],
    delimiter: u8,
    cols: &[Col],
    block: usize,
    (mapped, counted): (bool, bool),
) -> Result<Columns> {
    BLOCK_SIZE.with(|b| b.set(block));
    let (layout, table) = open_table(bytes, delimiter, (mapped, counted))?;
    let mut readers = Vec::new();
    for (k, c) in cols.iter().enumerate() {
        if matches!(c, Col::Numbers(_)) {
            readers.push(table.reader(Some(&(k + 1).to_string()))?);
        }
    }
    let mut texts = (0..cols.len())
        .map(|k| table.text_reader(k))
        .collect::<Result<Vec<_>>>()?;
    let mut out = vec![Vec::new(); readers.len()];
    let mut fields = vec![Vec::new(); texts.len()];
    // Small, uneven reads interleaved across the readers, up to the end (which the rows say
    // when they were counted, else the first short read).
    let mut buf = [0.0; 7];
    let mut done = 0;
    while done < layout.rows {
        let ask = buf.len().min(layout.rows - done);
        // What the first reader read; every other must read as many.
        let mut n = None;
        for (r, o) in readers.iter_mut().zip(&mut out) {
            let read = r.read_upto(Buf::F64(&mut buf[..ask]))?;
            ensure!(
                read == *n.get_or_insert(read),
                "{read} values read of {n:?}"
            );
            o.extend_from_slice(&buf[..read]);
        }
        for (t, f) in texts.iter_mut().zip(&mut fields) {
            let (mut data, mut ends) = (Vec::new(), Vec::new());
            let read = t.read_into(ask, &mut data, &mut ends)?;
            ensure!(
                read == *n.get_or_insert(read),
                "{read} fields read of {n:?}"
            );
            ensure!(ends.len() == read, "{} ends of {read} fields", ends.len());
            let mut from = 0;
            for end in ends {
                f.push(data[from..end].to_vec());
                from = end;
            }
        }
        let n = n.unwrap_or(ask);
        ensure!(n == ask || !counted, "{n} rows read of {ask} counted");
        done += n;
        if n == 0 {
            break;
        }
    }
    for r in &mut readers {
        r.finish()?;
    }
    BLOCK_SIZE.with(|b| b.set(BLOCK));
    Ok((out, fields))
}

/// Every column of `bytes` (with a header) as the `csv` crate reads it.
fn fields_by_csv_crate(bytes: &[u8], delimiter: u8, ncols: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes);
    let mut cols = vec![Vec::new(); ncols];
    for record in r.byte_records() {
        let record = record.unwrap();
        for (c, f) in cols.iter_mut().zip(record.iter()) {
            c.push(f.to_vec());
        }
    }
    cols
}

fn same(a: f64, b: Option<f64>) -> bool {
    match b {
        None => a.is_nan(),
        Some(b) if b.is_nan() => a.is_nan(),
        Some(b) => a.to_bits() == b.to_bits(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Any table of numbers and text, quoted and ended in any of the ways writers do, reads
    /// back its numeric columns bit for bit, and every column as text byte for byte as the
    /// `csv` crate reads it, whatever the block size and thread count, streamed or mapped,
    /// counted first or read to its end in one pass.
    #[test]
    fn tables_read_back_exactly(
        (names, cols, quoting, end, delim, sci) in table_strategy(),
        block in 8usize..300,
        threads in prop_oneof![Just(1usize), Just(2), Just(3), Just(8)],
        mapped in any::<bool>(),
        counted in any::<bool>(),
    ) {
        let bytes = write_table(&names, &cols, quoting, end, delim, sci);
        let delimiter = [b',', b';', b'\t'][usize::from(delim)];
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let got = pool.install(|| read_columns(&bytes, delimiter, &cols, block, (mapped, counted)));
        let (got, texts) = got.map_err(|e| TestCaseError::fail(format!("{e:#}: {:?}", String::from_utf8_lossy(&bytes))))?;
        prop_assert_eq!(&texts, &fields_by_csv_crate(&bytes, delimiter, cols.len()), "{:?}", String::from_utf8_lossy(&bytes));
        let want: Vec<&Vec<Option<f64>>> = cols.iter().filter_map(|c| match c {
            Col::Numbers(v) => Some(v),
            Col::Text(_) => None,
        }).collect();
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            prop_assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                prop_assert!(same(*a, *b), "{} vs {:?} in {:?}", a, b, String::from_utf8_lossy(&bytes));
            }
        }
    }
}

#[test]
fn a_number_that_is_also_a_name_reads_the_name_with_a_note() {
    let s = "0,1,2\n1,2,3\n";
    let l = read_table(
        std::io::Cursor::new(s.as_bytes().to_vec()),
        b',',
        HeaderMode::Present,
    )
    .unwrap()
    .0;
    assert_eq!(l.column("1").unwrap(), 1);
    let note = l.key_note("1").unwrap();
    assert!(
        note.contains("#2") && note.contains("column number 1 ('0')"),
        "{note}"
    );
    assert!(note.contains("write #1"), "{note}");
    assert_eq!(l.column("#1").unwrap(), 0);
    assert_eq!(l.column("#3").unwrap(), 2);
    assert!(l.column("#4").is_err());
    // '0' is a name and no column number; '3' is a number and no name: neither is ambiguous.
    assert_eq!(l.column("0").unwrap(), 0);
    assert!(l.key_note("0").is_none());
    assert_eq!(l.column("3").unwrap(), 2);
    assert!(l.key_note("3").is_none());
    assert!(l.key_note("2").is_some(), "name 2 is #3, number 2 is #2");
}

/// The rows of a table read in one pass are bounded by its length before it is read: the
/// bound must hold for the shortest rows, as a one-column table's empty lines (missing values,
/// one byte each) and a multi-column table's bare delimiters are.
#[test]
fn one_pass_reads_the_shortest_rows_within_the_bound() {
    for (text, rows) in [
        ("x\n\n\n\n", 3),
        ("x\n\r\r1", 3),
        ("x\n\n", 1),
        ("a,b\n,\n,\n,", 3),
        ("a,b,c\n,,\n,,", 2),
    ] {
        for mapped in [false, true] {
            let (layout, table) = open_table(text.as_bytes(), b',', (mapped, false)).unwrap();
            let mut src = table.reader(Some("#1")).unwrap();
            let mut buf = vec![0.0; layout.rows];
            let n = src.read_upto(Buf::F64(&mut buf)).unwrap();
            assert_eq!(n, rows, "{text:?}");
            assert!(layout.rows >= rows && src.read_upto(Buf::F64(&mut buf)).unwrap() == 0);
            src.finish().unwrap();
        }
    }
}
