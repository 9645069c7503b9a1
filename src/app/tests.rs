use super::*;

#[test]
fn medians_as_numpy() {
    assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
}

#[test]
fn auto_delta_from_mad() {
    let d = auto_delta(vec![-1.0, 0.0, 1.0, 2.0, 10.0], NanPolicy::Propagate).unwrap();
    assert_eq!(d, 1.345 * 1.4826 * 1.0);
    assert!(
        auto_delta(vec![1.0, 1.0, 1.0, 5.0], NanPolicy::Propagate)
            .unwrap_err()
            .to_string()
            .contains("--delta")
    );
    assert!(auto_delta(vec![f64::NAN, 1.0], NanPolicy::Propagate).is_err());
}
