use super::*;
use crate::npy::MAGIC;

fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.extend_from_slice(&[1, 0]);
    v.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    v.extend_from_slice(dict.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn truncated_data_is_caught_before_reading() {
    let bytes = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }",
        &[0; 16],
    );
    let n = bytes.len() as u64;
    let e = NpySource::open(Box::new(Cursor::new(bytes)), Some(n))
        .err()
        .unwrap();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn fortran_order_is_read_in_c_order() {
    // [[1, 2, 3], [4, 5, 6]] stored column by column.
    let data: Vec<u8> = [1u8, 4, 2, 5, 3, 6].to_vec();
    let bytes = npy(
        "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }",
        &data,
    );
    let mut src = NpySource::open(Box::new(Cursor::new(bytes)), None).unwrap();
    let mut out = [0.0f64; 6];
    src.read(Buf::F64(&mut out)).unwrap();
    assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}
