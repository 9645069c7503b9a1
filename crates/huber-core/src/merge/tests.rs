use super::*;
use crate::dtype::Precision;
use crate::loss::Loss;
use crate::reduce::Reduction;

const A: &str = r#"{"loss":"huber","delta":0.5,"reduction":"mean","value":1.0,"sum":3.0,"count":3,"shape":[3,2],"dtype":"float32","linear_fraction":0.0,"state":{"sum":"0x1.8p+1","linear":0}}"#;
const B: &str = r#"{"loss":"huber","delta":0.5,"reduction":"mean","value":0.5,"sum":1.0,"count":2,"shape":[2,2],"dtype":"float32","linear_fraction":0.5,"state":{"sum":"0x1p+0","linear":1}}"#;

fn merged(a: &str, b: &str) -> Result<Vec<Summary>> {
    let (a, b) = (parse(a)?, parse(b)?);
    merge(&[("a", a), ("b", b)])
}

#[test]
fn merges_sums_and_counts_exactly() {
    let m = merged(A, B).unwrap();
    assert_eq!(m[0].value, 0.8f32 as f64);
    assert_eq!((m[0].count, m[0].shape.clone()), (5, vec![5, 2]));
    assert_eq!(m[0].linear_fraction, Some(0.2));
    assert_eq!(m[0].state.linear(), 1);
}

#[test]
fn refuses_to_mix() {
    let e = merged(A, &B.replace("0.5,\"red", "1.0,\"red"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("delta 1 where a has 0.5"), "{e}");
}

/// The message of a shard that fails to parse, with its error chain.
fn refusal(json: &str) -> String {
    format!("{:#}", parse(json).unwrap_err())
}

#[test]
fn shard_fields_are_checked() {
    for (from, to, words) in [
        ("\"count\":3", "\"count\":18446744073709551615", "'count'"),
        ("\"count\":3", "\"count\":-1", "'count'"),
        ("\"count\":3", "\"count\":7", "more than the 6 elements"),
        ("[3,2]", "[18446744073709551614,2]", "'shape'"),
        ("[3,2]", "[3.5,2]", "'shape'"),
        ("\"delta\":0.5", "\"delta\":-1", "'delta'"),
        ("\"delta\":0.5", "\"delta\":\"NaN\"", "'delta'"),
        (
            "\"linear_fraction\":0.0",
            "\"linear_fraction\":2.0",
            "'linear_fraction'",
        ),
        ("\"linear\":0", "\"linear\":4", "'state.linear'"),
        ("\"sum\":3.0", "\"sum\":4.0", "'sum'"),
        ("\"value\":1.0", "\"value\":2.0", "'value'"),
        ("0x1.8p+1\"", "0x1.80p+1\"", "'state.sum'"),
        ("0x1.8p+1\"", "0x1.8p+1;nan\"", "'value'"),
        ("\"0x1.8p+1\"", "3.0", "'state.sum'"),
        (
            "{\"sum\":\"0x1.8p+1\",",
            "{\"hi\":3.0,\"lo\":0.0,\"scale\":0,",
            "written by a huber older than the exact sums; re-run this shard",
        ),
        (
            "\"count\":3",
            "\"count\":3,\"cout\":3",
            "'cout': not a field",
        ),
        (
            "\"delta\":0.5",
            "\"delta\":0.5,\"beta\":1",
            "'beta': not a field",
        ),
        (
            "\"linear\":0}",
            "\"linear\":0,\"mid\":1.0}",
            "'state.mid': not a field",
        ),
        ("\"dtype\":\"float32\"", "\"dtype\":\"float8\"", "'dtype'"),
        (
            "\"reduction\":\"mean\"",
            "\"reduction\":\"none\"",
            "'reduction'",
        ),
        (
            ",\"state\":{\"sum\":\"0x1.8p+1\",\"linear\":0}",
            "",
            "'state'",
        ),
    ] {
        let json = A.replace(from, to);
        assert_ne!(json, A, "{from}");
        let e = refusal(&json);
        assert!(e.contains(words), "{to}: {e}");
        let err = parse(&json).unwrap_err();
        assert!(!err.is_invalid_argument(), "{to}: a usage error");
    }
}

#[test]
fn counts_that_overflow_together_are_refused() {
    let big = |n: u64| {
        format!(
            r#"{{"loss":"mse","reduction":"sum","value":0.0,"sum":0.0,"count":{n},"shape":[{n}],"dtype":"float64","state":{{"sum":"0"}}}}"#
        )
    };
    let e = merged(&big(u64::MAX - 1), &big(2)).unwrap_err().to_string();
    assert!(e.contains("overflows"), "{e}");
}

#[test]
fn overflowing_sums_merge_to_the_mean_of_one_run() {
    let mut a = Accumulator::default();
    a.add(&[f64::MAX, f64::MAX], 0);
    let mut whole = a.clone();
    whole.merge(&a);
    let s = Summary::new(Loss::Mse, Reduction::Mean, &a, vec![2], Precision::F64);
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("\"sum\":\"Infinity\""), "{json}");
    let m = merged(&json, &json).unwrap();
    assert_eq!(m[0].value, f64::MAX);
    assert_eq!(m[0].state, whole);
}

const W: &str = r#"{"loss":"mse","reduction":"weighted-mean","value":1.5,"sum":3.0,"count":2,"shape":[2],"dtype":"float64","state":{"sum":"0x1.8p+1"},"weight_sum":2.0,"weight_state":{"sum":"0x1p+1"}}"#;

#[test]
fn weighted_means_merge_by_both_sums() {
    // (3 + 3) / (2 + 0.5), not the mean of 1.5 and 6, nor a division by the count.
    let other = W
        .replace("\"value\":1.5", "\"value\":6.0")
        .replace("\"weight_sum\":2.0", "\"weight_sum\":0.5")
        .replace("\"sum\":\"0x1p+1\"", "\"sum\":\"0x1p-1\"");
    let m = merged(W, &other).unwrap();
    assert_eq!(m[0].value, 6.0 / 2.5);
    assert_eq!(
        m[0].weights.as_ref().map(|w| w.reduce(Reduction::Sum)),
        Some(2.5)
    );
    let written = serde_json::to_value(&m[0]).unwrap();
    assert_eq!(written["weight_sum"], 2.5);
    assert_eq!(written["reduction"], "weighted-mean");
}

#[test]
fn weighted_mean_fields_are_checked() {
    for (from, to, words) in [
        (
            ",\"weight_state\":{\"sum\":\"0x1p+1\"}",
            "",
            "no field 'weight_state'",
        ),
        (",\"weight_sum\":2.0", "", "no field 'weight_sum'"),
        (
            "\"weight_sum\":2.0",
            "\"weight_sum\":2.5",
            "field 'weight_sum'",
        ),
        ("\"0x1p+1\"}}", "\"0x1.0p+1\"}}", "'weight_state.sum'"),
        (
            "\"0x1p+1\"}}",
            "\"0x1p+1\",\"linear\":1}}",
            "'weight_state.linear'",
        ),
        ("\"0x1p+1\"}}", "\"0x1p+1\",\"x\":1}}", "'weight_state.x'"),
        // Messages of a malformed weights' state name it, not the loss state.
        ("\"0x1p+1\"}}", "1e30}}", "field 'weight_state.sum'"),
        (
            "\"weight_state\":{\"sum\":\"0x1p+1\"}",
            "\"weight_state\":{\"hi\":2.0,\"lo\":0.0,\"scale\":0}",
            "field 'weight_state': a double-double state",
        ),
        (
            "\"weight_state\":{\"sum\":\"0x1p+1\"}",
            "\"weight_state\":\"x\"",
            "in field 'weight_state'",
        ),
    ] {
        assert!(W.contains(from), "{from}");
        let e = refusal(&W.replace(from, to));
        assert!(e.contains(words), "{from} → {to}: {e}");
    }
    // A mean result with a weights' sum is not one huber wrote.
    let mean = A.replace("}}", "},\"weight_sum\":1.0}");
    assert!(
        refusal(&mean).contains("field 'weight_sum'"),
        "{}",
        refusal(&mean)
    );
    let stray = W
        .replace("weighted-mean", "mean")
        .replace(",\"weight_sum\":2.0", "");
    assert!(
        refusal(&stray).contains("field 'weight_state'"),
        "{}",
        refusal(&stray)
    );
}

const GA: &str = r#"{"by":"g.csv:k","key":"a","loss":"mse","reduction":"mean","value":2.5,"sum":5.0,"count":2,"shape":[3],"dtype":"float64","state":{"sum":"0x1.4p+2"}}"#;
const GB: &str = r#"{"by":"g.csv:k","key":"b","loss":"mse","reduction":"mean","value":4.0,"sum":4.0,"count":1,"shape":[3],"dtype":"float64","state":{"sum":"0x1p+2"}}"#;

#[test]
fn a_shard_without_results_adds_nothing() {
    let grouped = format!("[{GA},{GB}]");
    let m = merged("[]", &grouped).unwrap();
    assert_eq!(m, parse(&grouped).unwrap());
    assert_eq!(merged("[]", "[]").unwrap(), Vec::new());
    let m = merged(A, "[]").unwrap();
    assert_eq!(m, parse(A).unwrap());
}

#[test]
fn a_key_twice_in_one_shard_is_refused() {
    let twice = format!("[{GA},{GA}]");
    let e = merged(&twice, &format!("[{GB}]")).unwrap_err().to_string();
    assert!(e.contains("key Text(\"a\") appears twice"), "{e}");
    // The same key in two shards is what merging is for.
    let m = merged(&format!("[{GA}]"), &format!("[{GA}]")).unwrap();
    assert_eq!((m.len(), m[0].count, m[0].value), (1, 4, 2.5));
}

#[test]
fn grouped_shards_of_two_dtypes_are_refused_naming_them() {
    let narrow = GB.replace("float64", "float32");
    let e = merged(&format!("[{GA}]"), &format!("[{narrow}]"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "b holds results for mse mean of float32 where a holds them for mse mean of float64"
        ),
        "{e}"
    );
}

#[test]
fn a_grouped_weighted_mean_is_refused() {
    let weighted = GA.replace("\"mean\"", "\"weighted-mean\"").replace(
        "\"state\":{\"sum\":\"0x1.4p+2\"}",
        "\"state\":{\"sum\":\"0x1.4p+2\"},\"weight_sum\":2.0,\"weight_state\":{\"sum\":\"0x1p+1\"}",
    );
    // Consistent on its own (Σwℓ / Σw = 5 / 2), but not a record `--by` writes.
    assert!(parse(&format!("[{weighted}]")).is_ok());
    let e = merged(&format!("[{weighted}]"), &format!("[{GB}]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a grouped weighted mean"), "{e}");
}

#[test]
fn results_of_one_kind_are_bounded_by_the_group_limit() {
    let a = parse(A).unwrap().remove(0);
    let mut other = a.clone();
    other.reduction = Reduction::Sum;
    let mut kinds = Kinds::default();
    for _ in 0..MAX_RESULTS_PER_KIND {
        kinds.add(&a).unwrap();
    }
    // Another kind has a count of its own; one more of the first is one too many.
    kinds.add(&other).unwrap();
    let err = kinds.add(&a).unwrap_err().to_string();
    assert!(
        err.contains("more than 4194304 results of huber mean"),
        "{err}"
    );
}

#[test]
fn a_stream_of_values_is_read_value_by_value() {
    let text = format!("{A}{B}\n[{A},{B}]\n[]\n");
    let mut seen = Vec::new();
    let n = read_results(text.as_bytes(), |k, r| {
        seen.push((k, r.len()));
        Ok(())
    })
    .unwrap();
    assert_eq!((n, seen), (4, vec![(1, 1), (2, 1), (3, 2), (4, 0)]));
    let err = read_results(format!("{A} x").as_bytes(), |_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    let err = read_results(format!("[{A}, 7]").as_bytes(), |_, _| Ok(())).unwrap_err();
    assert!(
        err.to_string()
            .contains("result 2: expected a result object"),
        "{err}"
    );
    let mut long = format!("[{A}, \"").into_bytes();
    // Over by more than the 64 KiB read ahead of the result before it.
    long.resize(
        long.len() + (MAX_RESULT_BYTES as usize) + (64 << 10) + 1,
        b'a',
    );
    let err = read_results(&long[..], |_, _| Ok(())).unwrap_err();
    assert!(err.to_string().contains("longer than 8 MiB"), "{err}");
    // The limit is per result: many results of a value may take more than it in all.
    let many = format!(
        "[{}]",
        vec![A; (MAX_RESULT_BYTES as usize) / A.len() + 2].join(",")
    );
    let n = read_results(many.as_bytes(), |_, r| {
        assert!(r.len() as u64 * A.len() as u64 > MAX_RESULT_BYTES);
        Ok(())
    });
    assert_eq!(n.unwrap(), 1);
}
