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

/// An NPY file of `bits` as float32 in the byte order `descr` names, its header padded with
/// `pad` spaces (moving where the data starts), read by position.
fn positional_f32(descr: &str, pad: usize, bits: &[u32]) -> (tempfile::NamedTempFile, NpySource) {
    let dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': ({},), }}{}\n",
        bits.len(),
        " ".repeat(pad)
    );
    let big = descr.starts_with('>');
    let data: Vec<u8> = bits
        .iter()
        .flat_map(|b| {
            if big {
                b.to_be_bytes()
            } else {
                b.to_le_bytes()
            }
        })
        .collect();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, &npy(&dict, &data)).unwrap();
    let src = NpySource::open_file(file.reopen().unwrap()).unwrap();
    (file, src)
}

/// Every float32 bit pattern kind: signed zeros, subnormals, infinities, NaNs with payloads.
fn patterns(n: usize) -> Vec<u32> {
    let mut x = 0x9E37_79B9_u32;
    let mut v: Vec<u32> = vec![0, 0x8000_0000, 1, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0001];
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push(x);
    }
    v
}

#[test]
fn mapped_windows_give_the_bits_read_at_gives() {
    let bits = patterns(70_000);
    let native = Buf::F32(&mut []).native();
    // An aligned header (data at byte 128), one that puts the data at an odd offset, and
    // a big-endian file: the first is mapped, the other two must fall back to reading.
    for (descr, pad, mapped) in [("<f4", 56, true), ("<f4", 1, false), (">f4", 56, false)] {
        let (_file, src) = positional_f32(descr, pad, &bits);
        let at = src.positional().unwrap();
        for (index, len) in [(0, bits.len()), (3, 5), (16_384, 40_000), (69_999, 1)] {
            let mut read = vec![0.0f32; len];
            at.read_at(index, Buf::F32(&mut read)).unwrap();
            let read: Vec<u32> = read.iter().map(|x| x.to_bits()).collect();
            assert_eq!(read, bits[index..index + len], "{descr} pad {pad} read_at");
            let window = at.window(index, len, native);
            let view = window.as_ref().and_then(Window::as_slice::<f32>);
            assert_eq!(view.is_some(), mapped, "{descr} pad {pad}: mapped?");
            if let Some(view) = view {
                let view: Vec<u32> = view.iter().map(|x| x.to_bits()).collect();
                assert_eq!(view, read, "{descr} pad {pad} window at {index}");
            }
        }
        // A float64 computation never maps float32 data, and no window reaches past the end.
        let f64s = Buf::F64(&mut []).native();
        assert!(at.window(0, 10, f64s).is_none());
        assert!(at.window(bits.len() - 1, 2, native).is_none());
    }
}
