use super::*;

#[test]
fn shortest_in_each_type() {
    assert_eq!(format(0.1, Precision::F64), "0.1");
    assert_eq!(format(f64::from(0.1f32), Precision::F32), "0.1");
    assert_eq!(format(f64::from(f16::from_f64(0.1)), Precision::F16), "0.1");
    assert_eq!(format(1.0, Precision::F32), "1.0");
    assert_eq!(format(1e300, Precision::F64), "1e300");
    assert_eq!(format(65504.0, Precision::F16), "65500.0");
    assert_eq!(format(f64::NAN, Precision::F32), "NaN");
    assert_eq!(format(f64::NEG_INFINITY, Precision::F64), "-inf");
}

#[test]
fn every_f16_reads_back() {
    for bits in 0..=u16::MAX {
        let v = f16::from_bits(bits);
        if v.is_nan() {
            continue;
        }
        let s = format(f64::from(v), Precision::F16);
        let back = f16::from_f64(s.parse::<f64>().unwrap());
        assert_eq!(back.to_bits(), bits, "{s}");
    }
}

#[test]
fn json_has_no_bare_non_finite_numbers() {
    let mut s = String::new();
    push_json(&mut s, f64::INFINITY, Precision::F64);
    assert_eq!(s, "\"Infinity\"");
}
