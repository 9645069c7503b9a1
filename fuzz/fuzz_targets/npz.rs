//! An NPZ archive: open a member (the first byte chooses no key, "pred" or "target"), then read
//! every element and check the CRC, as the command line does.
#![no_main]

use std::io::Cursor;

use huber_engine::internals::{Buf, Source};
use huber_engine::internals::NpySource;
use huber_engine::internals::open_member;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let key = match mode % 3 {
        0 => None,
        1 => Some("pred"),
        _ => Some("target"),
    };
    let Ok(member) = open_member(Box::new(Cursor::new(data.to_vec())), key) else {
        return;
    };
    let Ok(src) = NpySource::open(member.reader, Some(member.size)) else {
        return;
    };
    let mut src = src.drain_on_finish();
    let n: usize = src.shape().iter().product();
    let mut buf = vec![0.0f64; 4096];
    let mut done = 0;
    while done < n {
        let m = buf.len().min(n - done);
        if src.read(Buf::F64(&mut buf[..m])).is_err() {
            return;
        }
        done += m;
    }
    let _ = src.finish();
});
