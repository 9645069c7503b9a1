//! JSON Lines: lines read one after another through the layout of the line before (the fast
//! path of `jsonl::scan::layout`) must give what the full scanner gives each line alone: the same
//! values bit for bit, the same texts, or the same error. The first byte picks the selected
//! fields (dotted paths, text fields, a name that is also a path's start, an empty name, none);
//! the rest is the lines.
#![no_main]

use huber_engine::internals::check_jsonl_layout;
use libfuzzer_sys::fuzz_target;

const KEYS: [&[(&str, bool)]; 6] = [
    &[("p", false), ("t", false), ("o.p", false), ("id", true)],
    &[("a.b", false), ("a", true), ("p", true)],
    &[("a.b", true), ("o.p", true), ("x", false)],
    &[("a", false), ("a.b", false), ("p", false), ("\"", false)],
    &[("", false)],
    &[],
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let keys: Vec<(String, bool)> = KEYS[usize::from(pick) % KEYS.len()]
        .iter()
        .map(|&(k, text)| (k.to_string(), text))
        .collect();
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    check_jsonl_layout(&keys, &lines);
});
