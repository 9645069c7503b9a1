use std::io::Cursor;

use super::*;
use crate::input::csv::{HeaderMode, Table, scan};
use crate::npy::header_bytes;

/// Keys from column `column` of a headerless table.
fn csv_keys(text: &str, column: usize) -> Result<CsvKeys> {
    let bytes = text.as_bytes().to_vec();
    let layout = scan(&mut Cursor::new(&bytes), b',', HeaderMode::Absent)?;
    let table = Table::new(Box::new(Cursor::new(bytes)), layout, b',')?;
    Ok(CsvKeys::new(table.text_reader(column)?, "k.csv"))
}

fn texts(b: &KeyBatch) -> Vec<String> {
    (0..b.len())
        .map(|i| String::from_utf8(b.get(i).to_vec()).unwrap())
        .collect()
}

#[test]
fn csv_fields_are_unquoted_and_exact() {
    let text = "1,\"Shop, \"\"North\"\"\"\r\n2,south \n\n3,\"two\nlines\"\n4,";
    let mut keys = csv_keys(text, 1).unwrap();
    let first = keys.next_keys(2).unwrap();
    assert_eq!(texts(&first), ["Shop, \"North\"", "south "]);
    assert_eq!(first.first, 0);
    let rest = keys.next_keys(10).unwrap();
    assert_eq!(rest.first, 2);
    assert_eq!(texts(&rest), ["two\nlines", ""]);
    assert!(keys.next_keys(10).unwrap().is_empty());
}

#[test]
fn csv_errors_name_the_file_and_line() {
    let mut keys = csv_keys("a,1\nb,2\n\"c\",3,4\n", 0).unwrap();
    let err = format!("{:#}", keys.next_keys(5).unwrap_err());
    assert!(
        err.starts_with("--by k.csv: line 3, column 3: extra field"),
        "{err}"
    );
    let err = csv_keys("a,1\n\"b,2\n", 0).err().unwrap().to_string();
    assert!(err.contains("line 2: unterminated quote"), "{err}");
}

#[test]
fn csv_keys_stream_over_blocks() {
    let rows = 200_000;
    let text: String = (0..rows)
        .map(|i| format!("{i},key{}\n", i % 1000))
        .collect();
    let mut keys = csv_keys(&text, 1).unwrap();
    let mut seen = 0;
    loop {
        let b = keys.next_keys(65_536).unwrap();
        if b.is_empty() {
            break;
        }
        assert_eq!(b.first, seen);
        for i in 0..b.len() {
            assert_eq!(b.get(i), format!("key{}", (seen + i) % 1000).as_bytes());
        }
        seen += b.len();
    }
    assert_eq!(seen, rows);
}

fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Box<dyn Read + Send> {
    let mut bytes = header_bytes(descr, shape);
    bytes.extend_from_slice(data);
    Box::new(std::io::Cursor::new(bytes))
}

fn ints(b: &KeyBatch) -> Vec<i64> {
    (0..b.len())
        .map(|i| i64::from_le_bytes(b.get(i).try_into().unwrap()))
        .collect()
}

#[test]
fn npy_labels_of_every_integer_type() {
    let mut k = NpyKeys::open(npy("|i1", &[3], &[0xff, 7, 0x80]), "l.npy").unwrap();
    assert_eq!(k.kind(), KeyKind::Int);
    assert_eq!(ints(&k.next_keys(2).unwrap()), [-1, 7]);
    assert_eq!(ints(&k.next_keys(2).unwrap()), [-128]);
    let mut be = NpyKeys::open(npy(">u2", &[2], &[1, 2, 0xff, 0xff]), "l.npy").unwrap();
    assert_eq!(ints(&be.next_keys(5).unwrap()), [258, 65535]);
    let big = i64::MAX.to_le_bytes();
    let mut wide = NpyKeys::open(npy("<i8", &[1], &big), "l.npy").unwrap();
    assert_eq!(ints(&wide.next_keys(1).unwrap()), [i64::MAX]);
    let mut flags = NpyKeys::open(npy("|b1", &[2, 1], &[1, 0]), "l.npy").unwrap();
    assert_eq!(flags.kind(), KeyKind::Bool);
    assert_eq!(flags.shape(), &[2, 1]);
    assert_eq!(ints(&flags.next_keys(2).unwrap()), [1, 0]);
}

#[test]
fn npy_labels_that_cannot_be_keys() {
    let huge = u64::MAX.to_le_bytes();
    let mut u = NpyKeys::open(npy("<u8", &[1], &huge), "l.npy").unwrap();
    let err = u.next_keys(1).unwrap_err().to_string();
    assert!(err.contains("18446744073709551615 does not fit"), "{err}");
    let float = NpyKeys::open(npy("<f4", &[1], &[0; 4]), "l.npy");
    assert!(float.err().unwrap().to_string().contains("not floats"));
    let mut short = NpyKeys::open(npy("<i4", &[3], &[0; 8]), "l.npy").unwrap();
    let err = format!("{:#}", short.next_keys(3).unwrap_err());
    assert!(err.contains("before the 3 labels"), "{err}");
}

#[test]
fn key_shapes_match_the_inputs_or_their_leading_axes() {
    assert_eq!(key_repeat(&[4, 16, 16], &[4, 16, 16]).unwrap(), 1);
    assert_eq!(key_repeat(&[4], &[4, 16, 16]).unwrap(), 256);
    assert_eq!(key_repeat(&[], &[4]).unwrap(), 4);
    let err = key_repeat(&[16], &[4, 16]).unwrap_err().to_string();
    assert!(err.contains("(16,)") && err.contains("(4, 16)"), "{err}");
}
