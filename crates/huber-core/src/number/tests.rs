use super::*;

/// `x` as a string, see [`push`].
fn format(x: f64, p: Precision) -> String {
    let mut s = String::new();
    push(&mut s, x, p);
    s
}

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

/// `shortest` hands serde an `f64` that prints as the result type's shortest form, for every
/// float16 and for float32 values spread over the whole range (a fixed-step walk of the bits).
#[test]
fn shortest_prints_as_the_result_type() {
    let f32s = (0..=u32::MAX)
        .step_by(9973)
        .map(|b| f64::from(f32::from_bits(b)));
    let f16s = (0..=u16::MAX).map(|b| f64::from(f16::from_bits(b)));
    for (x, p) in f32s
        .map(|x| (x, Precision::F32))
        .chain(f16s.map(|x| (x, Precision::F16)))
        .filter(|(x, _)| x.is_finite())
    {
        assert_eq!(
            format(shortest(x, p), Precision::F64),
            format(x, p),
            "{x:e}"
        );
    }
}
