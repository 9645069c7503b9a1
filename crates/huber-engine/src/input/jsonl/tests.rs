use std::io::Cursor;

use super::scan::{self, Fields, Kind, Row};
use super::{Rows, Table, count_stream};
use crate::input::{Buf, Source};

fn row(line: &str, keys: &[&str]) -> Result<Vec<f64>, String> {
    let keys: Vec<(String, Kind)> = keys.iter().map(|k| (k.to_string(), Kind::Number)).collect();
    let fields = Fields::new(&keys);
    let mut row = Row::new(&fields);
    scan::line(line.as_bytes(), &fields, &mut row).map_err(|b| b.message)?;
    Ok(row.values)
}

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || x.is_nan() && y.is_nan())
}

#[test]
fn selected_fields_are_read_and_others_stepped_over() {
    // Skipped: strings that hold a brace, an escaped quote and an escaped backslash.
    let line = " {\"skip\": {\"a\": [1, \"}\", {\"b\": \"\\\"\"}]}, \"p\": -1.5e-3, \"t\": 2 , \"s\": \"x\\\\\"} ";
    assert!(same(
        &row(line, &["p", "t", "missing"]).unwrap(),
        &[-1.5e-3, 2.0, f64::NAN]
    ));
    let nested = r#"{"out": {"p": 0.25, "q": {"r": 7}}, "out.p": 9}"#;
    // A top-level field named "out.p" wins over the path.
    assert!(same(
        &row(nested, &["out.p", "out.q.r"]).unwrap(),
        &[9.0, 7.0]
    ));
    let path_only = r#"{"out": {"p": 0.25}}"#;
    assert!(same(&row(path_only, &["out.p"]).unwrap(), &[0.25]));
    let literals = r#"{"a": null, "b": true, "c": false, "d": NaN, "e": -Infinity, "\u0066": 3}"#;
    let got = row(literals, &["a", "b", "c", "d", "e", "f"]).unwrap();
    assert!(same(
        &got,
        &[f64::NAN, 1.0, 0.0, f64::NAN, f64::NEG_INFINITY, 3.0]
    ));
    // The last of a duplicated field counts, as in Python's json.
    assert!(same(&row(r#"{"p": 1, "p": 2}"#, &["p"]).unwrap(), &[2.0]));
}

#[test]
fn numbers_read_as_the_csv_parser_reads_them() {
    for text in [
        "0.1",
        "-0.30000000000000004",
        "1e308",
        "2.2250738585072014e-308",
        "123456789012345678901234567890",
        "5e-324",
    ] {
        let got = row(&format!(r#"{{"p": {text}}}"#), &["p"]).unwrap();
        assert_eq!(
            got[0].to_bits(),
            crate::input::csv::parse_number(text).unwrap().to_bits(),
            "{text}"
        );
    }
}

#[test]
fn bad_lines_say_why() {
    let cases = [
        (r#"{"p": "1.5"}"#, "a string (\"1.5\"), not a number"),
        (r#"{"p": [1]}"#, "an array, not a number"),
        (r#"{"p": {"q": 1}}"#, "an object, not a number"),
        (r#"{"p": 1x}"#, "'1x' is not a number"),
        (r#"{"p": .5}"#, "'.5' is not a number"),
        (r#"{"p": +1}"#, "'+1' is not a number"),
        (r#"{"p": 01}"#, "'01' is not a number"),
        (r#"{"p": inf}"#, "'inf' is not a number"),
        (r#"[1, 2]"#, "not a JSON object"),
        (r#"{"p": 1} {"p": 2}"#, "more after the object's end"),
        (r#"{"p": 1"#, "',' or '}' was expected"),
        (r#"{"q": "open}"#, "a string is not closed"),
        (
            r#"{"q": [1, {"r": 2"#,
            "the line ends inside an object or array: '}'",
        ),
        (r#"{p: 1}"#, "a field name was expected"),
        (r#"{"q":[1,2}"#, "'}' where ']' was expected"),
        (r#"{"q":{"a":[1]]}"#, "']' where '}' was expected"),
        (
            r#"{"q":[1,2"#,
            "the line ends inside an object or array: ']' was expected",
        ),
        (
            r#"{"q":[1,2], "p": 1"#,
            "the line ends inside an object: ',' or '}'",
        ),
        (r#"{"q":[1,]}"#, "a value was expected"),
        (r#"{"q":[1 2]}"#, "',' or ']' was expected"),
        (r#"{"q":{"a" 1}}"#, "':' was expected"),
        (r#"{"q":{"a":1,}}"#, "a field name was expected"),
        (r#"{"q":[tru]}"#, "'tru' is not a JSON value"),
        (r#"{"q":01}"#, "'01' is not a JSON value"),
        (r#"{"q":"\x"}"#, "'\\x' is not a JSON escape"),
        (r#"{"q":"\u12"}"#, "without four hex digits"),
    ];
    for (line, want) in cases {
        let err = row(line, &["p"]).unwrap_err();
        assert!(err.contains(want), "{line}: {err}");
    }
}

/// Lines made malformed from good ones (every byte deleted, every prefix, a bracket, brace,
/// comma, colon, quote or digit put in at every place or in place of every byte).
fn malformed(seed: &str) -> Vec<Vec<u8>> {
    let s = seed.as_bytes();
    let marks = b"[]{},:\"0";
    let mut lines = Vec::new();
    for i in 0..=s.len() {
        lines.push(s[..i].to_vec());
        for &m in marks {
            lines.push([&s[..i], &[m], &s[i..]].concat());
        }
        if i < s.len() {
            lines.push([&s[..i], &s[i + 1..]].concat());
            for &m in &marks[..7] {
                lines.push([&s[..i], &[m], &s[i + 1..]].concat());
            }
        }
    }
    lines
}

const SEEDS: [&str; 5] = [
    r#"{"id":"a\"b","p":-1.5,"t":2e3,"x":[1,[2,{"y":null}],"]}"],"o":{"p":0.25,"q":{}},"e":[]}"#,
    r#"{"p":1,"t":[true,false,{"a":[{}]}],"s":"\u00fc\\/","n":-0.5E+2}"#,
    r#"{"a":{"b":{"c":[[],[[]],{"d":"x"}]}},"p":0,"id":7}"#,
    r#" {"p": 1 , "t" : [ 1 , 2 ] , "o" : { "q" : [ { } ] } } "#,
    r#"{"q":[1,2],"p":NaN,"t":-Infinity,"r":[Infinity]}"#,
];

fn scanner(line: &[u8], keys: &[(&str, Kind)]) -> Result<(), Option<usize>> {
    let keys: Vec<(String, Kind)> = keys.iter().map(|(k, t)| (k.to_string(), *t)).collect();
    let fields = Fields::new(&keys);
    let mut row = Row::new(&fields);
    scan::line(line, &fields, &mut row).map_err(|b| b.slot)
}

fn serde_reads(line: &[u8]) -> bool {
    // serde_json reads no NaN or Infinity, which Python writes and huber reads: a whole word
    // of them is read as a number.
    let mut line = line.to_vec();
    for word in [&b"NaN"[..], b"Infinity"] {
        let mut i = 0;
        while let Some(k) = line[i..].windows(word.len()).position(|w| w == word) {
            let (at, end) = (i + k, i + k + word.len());
            let alone = |c: Option<&u8>| !c.is_some_and(|c| c.is_ascii_alphanumeric());
            if alone(at.checked_sub(1).and_then(|j| line.get(j))) && alone(line.get(end)) {
                line.splice(at..end, *b"1");
            }
            i = at + 1;
        }
    }
    serde_json::from_slice::<serde_json::Value>(&line).is_ok_and(|v| v.is_object())
}

/// Stepped over (no field of the line selected), a line is read exactly when serde_json reads it.
#[test]
fn skipped_values_are_refused_where_serde_json_refuses_them() {
    let (mut lines, mut refused) = (0, 0);
    for seed in SEEDS {
        assert!(serde_reads(seed.as_bytes()) && scanner(seed.as_bytes(), &[]).is_ok());
        for line in malformed(seed) {
            let ours = scanner(&line, &[("zz", Kind::Number)]).is_ok();
            let text = String::from_utf8_lossy(&line);
            assert_eq!(ours, serde_reads(&line), "{text}");
            lines += 1;
            refused += usize::from(!ours);
        }
    }
    assert!(lines > 5000 && refused > 4000, "{lines} {refused}");
}

/// With fields selected, a line serde_json refuses is refused, and one it reads is read or
/// refused for what a selected value is (a string or an array where a number is wanted).
#[test]
fn selected_lines_are_refused_where_serde_json_refuses_them() {
    let keys = [
        ("p", Kind::Number),
        ("t", Kind::Number),
        ("o.p", Kind::Number),
        ("id", Kind::Text),
    ];
    for seed in SEEDS {
        for line in malformed(seed) {
            let text = String::from_utf8_lossy(&line);
            match (serde_reads(&line), scanner(&line, &keys)) {
                (true, Err(None)) => panic!("refused what serde_json reads: {text}"),
                (false, Ok(())) => panic!("read what serde_json refuses: {text}"),
                _ => {}
            }
        }
    }
}

/// What a line was read into (values and texts), or its error (slot and message).
type Read = Result<(Vec<f64>, Vec<Vec<u8>>), (Option<usize>, String)>;

/// A line read by the last line's layout is read as `scan::line` reads it alone: the same
/// values and texts, or the same error, whatever line came before (the seed, so the malformed
/// line is tried against its layout, or a malformed one, whose layout the seed is tried against).
#[test]
fn lines_read_by_a_layout_are_read_as_alone() {
    let keys: Vec<(String, Kind)> = [
        ("p", Kind::Number),
        ("t", Kind::Number),
        ("o.p", Kind::Number),
        ("id", Kind::Text),
    ]
    .iter()
    .map(|(k, t)| (k.to_string(), *t))
    .collect();
    let fields = Fields::new(&keys);
    let alone = |line: &[u8]| -> Read {
        let mut row = Row::new(&fields);
        let got = scan::line(line, &fields, &mut row).map_err(|b| (b.slot, b.message));
        got.map(|()| (row.values, row.texts))
    };
    let by_layout = |layout: &mut scan::Layout, line: &[u8]| -> Read {
        let mut row = Row::new(&fields);
        let got = layout
            .line(line, &fields, &mut row)
            .map_err(|b| (b.slot, b.message));
        got.map(|()| (row.values, row.texts))
    };
    let same = |a: &Read, b: &Read| match (a, b) {
        (Ok((av, at)), Ok((bv, bt))) => same(av, bv) && at == bt,
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    let (mut lines, mut read) = (0, 0);
    let mut seeds: Vec<&str> = SEEDS.to_vec();
    seeds.push(r#"{"id":12,"p":0.5,"t":-1e-3,"o":{"p":2}}"#);
    seeds.push(r#"{"p":1,"p":2,"o.p":3,"o":{"p":4},"id":null,"t":"x"}"#);
    // Long names: the bytes between values compared a word at a time, both words.
    seeds.push(r#"{"identifier":3,"p":0.5,"a description":"a b","t":-1,"z":{"p":1}}"#);
    for seed in seeds {
        let seed = seed.as_bytes();
        for line in malformed(std::str::from_utf8(seed).unwrap()) {
            for (first, then) in [(seed, &line[..]), (&line[..], seed), (&line[..], &line[..])] {
                // A layout of its own for each pair: one that missed often stops learning.
                let mut layout = scan::Layout::default();
                let _ = by_layout(&mut layout, first);
                let (want, got) = (alone(then), by_layout(&mut layout, then));
                let text = String::from_utf8_lossy(then);
                assert!(same(&want, &got), "{text}: {want:?} {got:?}");
                lines += 1;
                read += usize::from(got.is_ok());
            }
        }
    }
    assert!(lines > 15000 && read > 3000, "{lines} {read}");
}

#[test]
fn strings_unescape_as_json_says() {
    let got = scan::unescape(br#"a\"b\\c\/d\n\u00fc\ud83d\ude00\t"#).unwrap();
    assert_eq!(String::from_utf8(got).unwrap(), "a\"b\\c/d\nü😀\t");
    assert!(scan::unescape(br"\x").is_err());
}

/// A table read through 64-byte blocks: lines cross block ends, blank lines are skipped, readers
/// of two fields and a key reader share one parse.
#[test]
fn tables_read_in_blocks_share_one_parse() {
    let mut text = String::new();
    let mut want = (Vec::new(), Vec::new());
    for i in 0..200 {
        let pad = "x".repeat(i % 90);
        text.push_str(&format!(
            "{{\"id\": \"k{}\", \"pad\": \"{pad}\", \"p\": {i}.5, \"t\": {}}}\r\n",
            i % 3,
            -(i as i64)
        ));
        if i % 17 == 0 {
            text.push_str("  \n");
        }
        want.0.push(i as f64 + 0.5);
        want.1.push(-(i as f64));
    }
    let bytes = text.into_bytes();
    let rows = count_stream(Box::new(Cursor::new(bytes.clone()))).unwrap();
    assert_eq!(rows, 200);
    for rows in [
        Rows::Counted(rows),
        Rows::Length(Some(bytes.len() as u64)),
        Rows::Length(None),
    ] {
        let table = Table::stream(Box::new(Cursor::new(bytes.clone())), rows).unwrap();
        let mut p = table.reader(Some("p"), "f:p".into()).unwrap();
        let mut t = table.reader(Some("t"), "f:t".into()).unwrap();
        let mut keys = table.key_reader(Some("id"), "t:id".into()).unwrap();
        let (mut gp, mut gt) = (vec![0.0; 256], vec![0.0; 256]);
        let n = p.read_upto(Buf::F64(&mut gp)).unwrap();
        let m = t.read_upto(Buf::F64(&mut gt)).unwrap();
        assert_eq!((n, m), (200, 200));
        assert_eq!((&gp[..n], &gt[..m]), (&want.0[..], &want.1[..]));
        let (mut data, mut ends) = (Vec::new(), Vec::new());
        assert_eq!(keys.read_into(300, &mut data, &mut ends).unwrap(), 200);
        assert_eq!(&data[..ends[3]], b"k0k1k2k0");
    }
}

#[test]
fn a_bad_value_names_the_input_and_line() {
    let text = b"{\"p\": 1, \"t\": 2}\n\n{\"p\": 1, \"t\": \"n/a\"}\n".to_vec();
    let table = Table::stream(Box::new(Cursor::new(text)), Rows::Length(None)).unwrap();
    let mut p = table.reader(Some("p"), "f:p".into()).unwrap();
    let _t = table.reader(Some("t"), "f:t".into()).unwrap();
    let err = p.read_upto(Buf::F64(&mut [0.0; 4])).unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "f:t: line 3, field 't': a string (\"n/a\"), not a number"
    );
}
