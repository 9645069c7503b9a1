use std::io::Cursor;

use super::*;

#[test]
fn parses_numpy_headers() {
    let (d, f, s) =
        parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n").unwrap();
    assert_eq!((d, f, s), (Dtype::F32, false, vec![3, 4]));
    let (_, _, s) =
        parse_dict("{\"shape\": (), \"fortran_order\": True, \"descr\": \">f8\"}").unwrap();
    assert!(s.is_empty());
    let (_, _, s) = parse_dict("{'descr':'|b1','fortran_order':False,'shape':(5L,)}").unwrap();
    assert_eq!(s, vec![5]);
}

#[test]
fn refuses_by_name() {
    for (descr, word) in [
        ("|O", "object"),
        ("<c16", "complex"),
        ("<U3", "string"),
        ("<M8[ns]", "datetime"),
        ("<f16", "float"),
    ] {
        let e = parse_descr(descr).unwrap_err().to_string();
        assert!(e.contains(word), "{descr}: {e}");
    }
    let e =
        parse_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}").unwrap_err();
    assert!(e.to_string().contains("structured"));
    let e = parse_dict(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4)}",
    );
    assert!(e.unwrap_err().to_string().contains("too large"));
    assert!(parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}").is_err());
}

#[test]
fn written_headers_read_back() {
    let h = header_bytes("<f4", &[2, 3]);
    assert_eq!(h.len() % 64, 0);
    let header = read_header(&mut Cursor::new(h.clone())).unwrap();
    assert_eq!(header.shape, vec![2, 3]);
    assert_eq!(header.data_offset, h.len() as u64);
}
