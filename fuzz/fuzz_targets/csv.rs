//! The CSV reader with fuzzed options: the first byte picks the delimiter, the second the
//! header mode; then column look-ups by name and number on what was read.
#![no_main]

use huber::input::HeaderMode;
use huber::input::csv::{parse_number, read_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [d, h, rest @ ..] = data else {
        return;
    };
    let delimiter = [b',', b'\t', b';', b' ', b'|', b':'][usize::from(*d) % 6];
    let header = [HeaderMode::Detect, HeaderMode::Present, HeaderMode::Absent][usize::from(*h) % 3];
    if let Ok(text) = std::str::from_utf8(rest) {
        let _ = parse_number(text);
    }
    let Ok(table) = read_table(rest, delimiter, header) else {
        return;
    };
    assert_eq!(table.data.len(), table.nrows() * table.ncols);
    for key in ["0", "1", "2", "pred", "18446744073709551616"] {
        if let Ok(c) = table.column(key) {
            assert_eq!(table.column_values(c).len(), table.nrows());
        }
    }
    if let Some(names) = &table.names {
        for n in names {
            assert!(table.column(n).is_ok());
        }
    }
});
