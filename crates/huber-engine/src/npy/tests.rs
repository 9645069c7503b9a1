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

/// Headers as `np.save` writes them (numpy 2.4: `np.save(f, np.zeros(shape, np.float32))`),
/// byte for byte, and a first axis of any length up to 21 digits keeps the header's length.
#[test]
fn written_headers_are_numpys() {
    let numpy = |shape: &str, pad: usize| -> Vec<u8> {
        let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        let mut out = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
        out.extend_from_slice(dict.as_bytes());
        out.extend(std::iter::repeat_n(b' ', pad));
        out.push(b'\n');
        out
    };
    assert_eq!(header_bytes("<f4", &[5]), numpy("(5,)", 60));
    assert_eq!(header_bytes("<f4", &[0]), numpy("(0,)", 60));
    assert_eq!(
        header_bytes("<f4", &[123456789, 3]),
        numpy("(123456789, 3)", 50)
    );
    assert_eq!(header_bytes("<f4", &[]), numpy("()", 62));
    for n in [0, 9, 10, 123_456_789, usize::MAX] {
        assert_eq!(header_bytes("<f8", &[n, 7]).len(), 128, "{n}");
    }
    // A dict whose line ends on the 64-byte boundary gets a whole line of padding, as numpy's.
    for ndim in 0..40 {
        let h = header_bytes("<f4", &vec![3; ndim]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(h[h.len() - 1], b'\n');
        assert_eq!(h[h.len() - 2], b' ', "{ndim}");
    }
}

#[test]
fn written_headers_read_back() {
    let h = header_bytes("<f4", &[2, 3]);
    assert_eq!(h.len() % 64, 0);
    let header = read_header(&mut Cursor::new(h.clone())).unwrap();
    assert_eq!(header.shape, vec![2, 3]);
    assert_eq!(header.data_offset, h.len() as u64);
}
