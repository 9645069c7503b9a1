//! A whole NPY read: open, then every element in chunks, as f64 and (for float16 and float32
//! data) as f32. The first byte chooses whether the input's length is known (a file) or not
//! (stdin), and the chunk size.
#![no_main]

use std::io::Cursor;

use huber_core::dtype::Kind;
use huber_engine::internals::{Buf, Source};
use huber_engine::internals::NpySource;
use libfuzzer_sys::fuzz_target;

fn open(data: &[u8], known_len: bool) -> Option<NpySource> {
    let len = known_len.then_some(data.len() as u64);
    NpySource::open(Box::new(Cursor::new(data.to_vec())), len).ok()
}

fn read_all<T: Default + Clone>(
    src: &mut NpySource,
    chunk: usize,
    read: fn(&mut NpySource, &mut [T]) -> bool,
) {
    let n: usize = src.shape().iter().product();
    let mut buf = vec![T::default(); chunk];
    let mut done = 0;
    while done < n {
        let m = chunk.min(n - done);
        if !read(src, &mut buf[..m]) {
            return;
        }
        done += m;
    }
    let _ = src.finish();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else {
        return;
    };
    let known_len = mode & 1 == 1;
    let chunk = usize::from(mode >> 1) + 1;
    if let Some(mut src) = open(data, known_len) {
        read_all::<f64>(&mut src, chunk, |s, out| s.read(Buf::F64(out)).is_ok());
    }
    if let Some(mut src) = open(data, known_len) {
        let d = src.dtype();
        if d.kind == Kind::Float && d.size <= 4 {
            read_all::<f32>(&mut src, chunk, |s, out| s.read(Buf::F32(out)).is_ok());
        }
    }
});
