//! The NPY preamble and header dict: any bytes must give a header or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = huber_engine::internals::read_header(&mut &data[..]) {
        // A header that parses promises a size that can be computed without overflow.
        let _ = h.data_len();
        assert!(h.data_offset as usize <= data.len());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = huber_engine::internals::parse_dict(text);
        let _ = huber_engine::internals::parse_descr(text);
    }
});
