use super::*;
use huber_core::loss::Loss;
use huber_core::reduce::{Accumulator, Reduction};
use huber_core::summary::Summary;
use huber_engine::Worst;

fn result(shape: &[usize], precision: Precision, delta: f64) -> Summary {
    let mut acc = Accumulator::default();
    acc.add(&[1.5f64, 0.25], 1);
    let loss = Loss::huber(delta).unwrap();
    Summary::new(loss, Reduction::Mean, &acc, shape.to_vec(), precision)
}

fn worst(index: usize, loss: f64, weight: Option<f64>) -> Worst {
    Worst {
        index,
        pred: 0.1,
        target: -2.0,
        weight,
        loss,
    }
}

fn written(format: Format, listings: &[TopList], weighted: bool) -> String {
    let mut out = Vec::new();
    write(&mut out, format, listings, weighted).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_table_names_its_columns_and_prints_in_the_result_type() {
    let r = result(&[2, 3], Precision::F32, 1.0);
    let list = [worst(5, f64::NAN, Some(2.0)), worst(3, 1.5, Some(0.5))];
    let one = [TopList {
        result: r.clone(),
        worst: list.to_vec(),
        lines: Some(vec![9, 4]),
        files: None,
        ids: None,
    }];
    assert_eq!(
        written(Format::Text, &one, true),
        "i0\ti1\tflat\tline\tpred\ttarget\tweight\tloss\n\
         1\t2\t5\t9\t0.1\t-2.0\t2.0\tNaN\n\
         1\t0\t3\t4\t0.1\t-2.0\t0.5\t1.5\n"
    );
    let flat = result(&[7], Precision::F64, 1.0);
    let one = [TopList {
        result: flat.clone(),
        worst: vec![worst(3, 1.5, None)],
        lines: None,
        files: None,
        ids: None,
    }];
    assert_eq!(
        written(Format::Csv, &one, false),
        "index,pred,target,loss\n3,0.1,-2.0,1.5\n"
    );
}

#[test]
fn several_deltas_give_one_list_each() {
    let (a, b) = (
        result(&[4], Precision::F64, 0.5),
        result(&[4], Precision::F64, 2.0),
    );
    let (la, lb) = ([worst(1, 3.0, None)], [worst(2, 1.0, None)]);
    let two = [
        TopList {
            result: a.clone(),
            worst: la.to_vec(),
            lines: None,
            files: None,
            ids: None,
        },
        TopList {
            result: b.clone(),
            worst: lb.to_vec(),
            lines: None,
            files: None,
            ids: None,
        },
    ];
    assert_eq!(
        written(Format::Csv, &two, false),
        "delta,index,pred,target,loss\n0.5,1,0.1,-2.0,3.0\n2.0,2,0.1,-2.0,1.0\n"
    );
    let json: Value = serde_json::from_str(&written(Format::Json, &two, false)).unwrap();
    assert_eq!(json[0]["delta"], 0.5);
    assert_eq!(json[1]["top"][0]["flat"], 2);
}

#[test]
fn json_adds_the_list_to_the_result() {
    let r = result(&[2, 3], Precision::F32, 1.0);
    let list = [worst(5, f64::INFINITY, None)];
    let one = [TopList {
        result: r.clone(),
        worst: list.to_vec(),
        lines: None,
        files: None,
        ids: None,
    }];
    let text = written(Format::Json, &one, false);
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["value"], 0.875);
    assert_eq!(json["count"], 2);
    assert_eq!(
        json["top"],
        serde_json::json!([{"index":[1,2],"flat":5,"pred":0.1,"target":-2.0,"loss":"Infinity"}])
    );
    // pred printed in float32's shortest form, not as the f64 it was widened to.
    assert!(text.contains("\"pred\":0.1,"), "{text}");
}
