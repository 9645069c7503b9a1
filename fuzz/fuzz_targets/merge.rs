//! `huber merge` input: one to four shard files (the bytes split at NUL), checked and merged as
//! the command does. Every shard field is data: whatever the bytes, the merge either fails with
//! an error or gives a result whose counts are consistent, and merging that result again alone
//! gives back the same bits.
#![no_main]

use huber::cli::output::Format;
use huber_core::merge::{combine, merge, read_results};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let shards: Vec<(String, String)> = data
        .split(|&b| b == 0)
        .take(4)
        .enumerate()
        .map(|(i, t)| (format!("shard{i}.json"), String::from_utf8_lossy(t).into_owned()))
        .collect();
    let named: Vec<(&str, &str)> = shards.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let Ok(merged) = combine(&named) else {
        return;
    };
    // `huber merge -`: the same shards one after another on a stream, merged as they come, give
    // the same bits as the shards given one by one.
    let stream = shards.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
    let mut folded: Option<Vec<huber_core::summary::Summary>> = None;
    let read = read_results(stream.as_bytes(), |k, results| {
        let name = format!("shard{k}.json");
        folded = Some(match folded.take() {
            None => merge(&[(name.as_str(), results)])?,
            Some(sofar) => merge(&[("so far", sofar), (name.as_str(), results)])?,
        });
        Ok(())
    });
    assert_eq!(read.ok(), Some(shards.len()), "the stream holds every shard");
    let folded = folded.expect("at least one shard");
    assert_eq!(folded.len(), merged.len());
    for (a, b) in merged.iter().zip(&folded) {
        assert!(a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan()));
        assert_eq!((a.count, &a.shape, &a.state), (b.count, &b.shape, &b.state));
    }
    for r in &merged {
        let elements = r
            .shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64))
            .expect("the merged shape's element count fits in 64 bits");
        assert!(r.count <= elements, "count {} > {elements}", r.count);
        assert!(r.state.linear() <= r.count);
    }
    let mut json = Vec::new();
    Format::Json
        .writer()
        .scalars(&mut json, &merged)
        .expect("writes to memory");
    let json = String::from_utf8(json).expect("JSON output is UTF-8");
    let again = combine(&[("merged.json", json.as_str())])
    .expect("a merged result merges again");
    for (a, b) in merged.iter().zip(&again) {
        assert!(a.value.to_bits() == b.value.to_bits() || (a.value.is_nan() && b.value.is_nan()));
        assert_eq!((a.count, &a.shape), (b.count, &b.shape));
    }
});
