//! An Arrow IPC file or stream held in memory: open it, then read the column the first byte picks ("x", "y" or the
//! only one) to the end, as the command line does. Any error is fine; a panic, a hang or a large
//! allocation is not.
#![no_main]

use std::sync::Arc;

use huber_engine::internals::{Buf, Source};
use huber_engine::internals::Store;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let key = match mode % 3 {
        0 => None,
        1 => Some("x"),
        _ => Some("y"),
    };
    let store = Store::mem(Arc::from(data));
    let Ok(table) = huber_engine::internals::open_arrow_ipc(store) else {
        return;
    };
    let Ok(mut src) = table.reader(key) else {
        return;
    };
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
