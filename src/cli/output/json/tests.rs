use super::*;

fn render(shape: &[usize], vals: &[f64]) -> String {
    let mut out = Vec::new();
    let mut w = Json::default();
    w.begin(&mut out, shape, Precision::F64).unwrap();
    // Two chunks, to cross a chunk boundary mid-row.
    let (a, b) = vals.split_at(vals.len() / 2);
    w.values(&mut out, Values::F64(a)).unwrap();
    w.values(&mut out, Values::F64(b)).unwrap();
    w.end(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn nests_as_the_shape() {
    let v: Vec<f64> = (0..6).map(f64::from).collect();
    assert!(render(&[2, 3], &v).contains("\"values\":[[0.0,1.0,2.0],[3.0,4.0,5.0]]}"));
    assert!(render(&[3, 1, 2], &v).contains("[[[0.0,1.0]],[[2.0,3.0]],[[4.0,5.0]]]"));
    assert!(render(&[], &[7.0]).contains("\"values\":7.0}"));
    assert!(render(&[3, 0], &[]).contains("\"values\":[[],[],[]]}"));
    assert!(render(&[0, 3], &[]).contains("\"values\":[]}"));
}

#[test]
fn output_is_valid_json() {
    let s = render(&[2], &[f64::NAN, f64::INFINITY]);
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["values"][1], "Infinity");
}

#[test]
fn empty_arrays_of_huge_shape_stream_or_are_refused() {
    assert!(render(&[2, 2, 0, 5], &[]).contains("\"values\":[[[],[]],[[],[]]]}"));
    let big = render(&[1 << 20, 0], &[]);
    assert_eq!(big.matches("[]").count(), 1 << 20);
    let mut out = Vec::new();
    let e = Json::default()
        .begin(&mut out, &[1 << 62, 0], Precision::F64)
        .unwrap_err();
    assert!(e.to_string().contains("more than"), "{e}");
    assert!(out.len() < 100, "{} bytes written", out.len());
}
