//! `PATH`, `PATH:KEY`, `-`, `-:KEY` as raw command-line bytes (not necessarily UTF-8).
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use huber_engine::{InputSpec, Location};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = InputSpec::parse(OsStr::from_bytes(data)) else {
        return;
    };
    let _ = spec.to_string();
    if let Some(key) = &spec.key {
        assert!(!key.is_empty());
    }
    if let Location::Path(p) = &spec.location {
        assert!(!p.as_os_str().is_empty());
    }
});
