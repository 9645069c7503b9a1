use super::*;

#[test]
fn merges_sums_and_counts_exactly() {
    let a = parse(r#"{"loss":"huber","delta":0.5,"reduction":"mean","value":1.0,"sum":3.0,"count":3,"shape":[3,2],"dtype":"float32","linear_fraction":0.0}"#).unwrap();
    let b = parse(r#"{"loss":"huber","delta":0.5,"reduction":"mean","value":0.5,"sum":1.0,"count":2,"shape":[2,2],"dtype":"float32","linear_fraction":0.5}"#).unwrap();
    let (pa, pb) = (std::path::PathBuf::from("a"), std::path::PathBuf::from("b"));
    let m = merge(&[(&pa, a), (&pb, b)]).unwrap();
    assert_eq!(m[0].value, 0.8f32 as f64);
    assert_eq!((m[0].count, m[0].shape.clone()), (5, vec![5, 2]));
    assert_eq!(m[0].linear_fraction, Some(0.2));
}

#[test]
fn refuses_to_mix() {
    let a = parse(r#"{"loss":"huber","delta":0.5,"reduction":"mean","value":1.0,"sum":3.0,"count":3,"shape":[3],"dtype":"float32"}"#).unwrap();
    let b = parse(r#"{"loss":"huber","delta":1.0,"reduction":"mean","value":1.0,"sum":3.0,"count":3,"shape":[3],"dtype":"float32"}"#).unwrap();
    let (pa, pb) = (std::path::PathBuf::from("a"), std::path::PathBuf::from("b"));
    let e = merge(&[(&pa, a), (&pb, b)]).unwrap_err().to_string();
    assert!(e.contains("delta 1 where a has 0.5"), "{e}");
}
