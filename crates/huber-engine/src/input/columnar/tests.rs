use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow_array::Float64Array;

use super::*;
use crate::input::Buf;

/// Two row groups: the first is corrupt, the second decodes for as long as anyone reads it and
/// takes a while to wind down, as a large piece in the middle of decoding does.
struct SlowSecondGroup {
    stopped: Arc<AtomicBool>,
}

/// Marks the second group's thread as ended, after a delay, however it ends.
struct EndMark(Arc<AtomicBool>);

impl Drop for EndMark {
    fn drop(&mut self) {
        std::thread::sleep(Duration::from_millis(200));
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Decoder for SlowSecondGroup {
    fn units(&self) -> usize {
        2
    }
    fn rows(&self, _: usize) -> u64 {
        u64::MAX
    }
    fn unit_name(&self) -> Option<&'static str> {
        Some("row group")
    }
    fn parallel(&self) -> bool {
        true
    }
    fn decode(
        &self,
        unit: usize,
        _: &[Column],
        emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
    ) -> Result<()> {
        ensure!(unit == 1, "corrupt page");
        let _mark = EndMark(self.stopped.clone());
        let piece: ArrayRef = Arc::new(Float64Array::from(vec![1.0; 1024]));
        while emit(vec![piece.clone()]) {}
        Ok(())
    }
}

#[test]
fn no_decoding_thread_outlives_its_table() {
    let stopped = Arc::new(AtomicBool::new(false));
    let decoder = Arc::new(SlowSecondGroup {
        stopped: stopped.clone(),
    });
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Float64, true)]));
    let table = Table::new(decoder, schema, 1 << 20, 2);
    let mut src = table.reader(Some("x")).unwrap();
    let mut out = vec![0.0f64; 16];
    let err = src.read(Buf::F64(&mut out)).unwrap_err();
    assert!(format!("{err:#}").contains("corrupt page"), "{err:#}");
    drop(src);
    drop(table);
    assert!(
        stopped.load(Ordering::SeqCst),
        "a decoding thread still runs after its table was dropped"
    );
}

/// A decimal is the float64 nearest its exact value: by one exact division where both parts are
/// exact, else by the number parser on its digits.
#[test]
fn decimals_round_to_the_nearest_float64() {
    let parse = |s: &str| s.parse::<f64>().unwrap();
    let cases: [(i128, i8, &str); 6] = [
        (12345, 2, "123.45"),
        (-1, 30, "-1e-30"),
        (9_007_199_254_740_993, 0, "9007199254740993"),
        (
            123_456_789_012_345_678_901_234_567,
            27,
            "0.123456789012345678901234567",
        ),
        (7, -3, "7e3"),
        (i128::MAX, 38, "1.70141183460469231731687303715884105727"),
    ];
    for (v, scale, text) in cases {
        let got = decimal(v, scale, || v.to_string());
        assert_eq!(got.to_bits(), parse(text).to_bits(), "{v}e-{scale}");
    }
}

/// A page header cut short by the end of the file, after the field huber checks (found by the
/// `parquet` fuzz target): the decoder read at the end of the file for seconds before it failed;
/// the whole header is read first now, and the file is refused at once.
#[test]
fn a_page_header_cut_short_is_refused_at_once() {
    let bytes = include_bytes!("testdata/page-header-cut-short.parquet");
    let start = std::time::Instant::now();
    let table = parquet::open(Store::mem(Arc::from(&bytes[..])), 2).unwrap();
    let mut source = table.reader(Some("x")).unwrap();
    let mut buf = vec![0.0f64; 4];
    let e = source.read(Buf::F64(&mut buf)).unwrap_err();
    assert!(
        format!("{e:#}").contains("the file ends inside it"),
        "{e:#}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

/// Columns `a`, `b`, `c` holding `i`, `1000 + i`, `2000 + i` in row `i`, in pieces of 7, 5 and
/// 11 rows.
struct Ragged;

impl Decoder for Ragged {
    fn units(&self) -> usize {
        3
    }
    fn rows(&self, unit: usize) -> u64 {
        [7, 5, 11][unit]
    }
    fn unit_name(&self) -> Option<&'static str> {
        Some("row group")
    }
    fn parallel(&self) -> bool {
        true
    }
    fn decode(
        &self,
        unit: usize,
        columns: &[Column],
        emit: &mut dyn FnMut(Vec<ArrayRef>) -> bool,
    ) -> Result<()> {
        let first = [0, 7, 12][unit];
        let rows = first..first + [7, 5, 11][unit];
        let arrays = columns.iter().map(|c| {
            let base = 1000.0 * f64::from(c.path[0].as_bytes()[0] - b'a');
            if c.path[0] == "l" {
                return pairs(rows.clone());
            }
            let values: Vec<f64> = rows.clone().map(|i| base + i as f64).collect();
            Arc::new(Float64Array::from(values)) as ArrayRef
        });
        emit(arrays.collect());
        Ok(())
    }
}

/// A fixed-size list of 2 per row `i`: `(-i, 0.5 - i)`, the second null when `i` is odd, the
/// whole list null when `i % 5 == 3`.
fn pairs(rows: std::ops::Range<usize>) -> ArrayRef {
    let values: Vec<Option<f64>> = rows
        .clone()
        .flat_map(|i| [Some(-(i as f64)), (i % 2 == 0).then_some(0.5 - i as f64)])
        .collect();
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    let valid: Vec<bool> = rows.map(|i| i % 5 != 3).collect();
    let list = arrow_array::FixedSizeListArray::new(
        item,
        2,
        Arc::new(Float64Array::from(values)),
        Some(NullBuffer::from(valid)),
    );
    Arc::new(list)
}

/// A fixed-size list between plain columns is `k` columns of the array, its nulls and a null
/// list's values NaN, whatever the reads' sizes.
#[test]
fn fixed_size_lists_interleave_with_columns() {
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float64, true),
        Field::new("l", DataType::FixedSizeList(item, 2), true),
        Field::new("b", DataType::Float64, true),
    ]));
    let table = Table::new(Arc::new(Ragged), schema, 23, 2);
    let mut src = table.reader(Some("b,l,a")).unwrap();
    assert_eq!(src.shape(), [23, 4]);
    let mut got = Vec::new();
    for n in [3, 1, 6, 9, 33, 2, 38] {
        let mut out = vec![0.0; n];
        src.read(Buf::F64(&mut out)).unwrap();
        got.extend(out);
    }
    let nan = f64::NAN;
    let want: Vec<f64> = (0..23)
        .flat_map(|i| {
            let x = i as f64;
            let (l0, l1) = match (i % 5 == 3, i % 2 == 0) {
                (true, _) => (nan, nan),
                (false, true) => (-x, 0.5 - x),
                (false, false) => (-x, nan),
            };
            [1000.0 + x, l0, l1, x]
        })
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(
        got.iter()
            .zip(&want)
            .all(|(g, w)| g.to_bits() == w.to_bits() || g.is_nan() && w.is_nan())
    );
}

/// Several columns are read row after row, whatever the reads' sizes (ending inside rows) and
/// the pieces' (ending inside reads).
#[test]
fn several_columns_interleave_across_reads_and_pieces() {
    let field = |n| Field::new(n, DataType::Float64, true);
    let schema = Arc::new(Schema::new(vec![field("a"), field("b"), field("c")]));
    let table = Table::new(Arc::new(Ragged), schema, 23, 2);
    let mut src = table.reader(Some("c,a,b")).unwrap();
    assert_eq!(src.shape(), [23, 3]);
    let mut got = Vec::new();
    for n in [1, 2, 4, 5, 13, 3, 30, 11] {
        let mut out = vec![0.0; n];
        src.read(Buf::F64(&mut out)).unwrap();
        got.extend(out);
    }
    let want: Vec<f64> = (0..23)
        .flat_map(|i| [2000.0 + i as f64, i as f64, 1000.0 + i as f64])
        .collect();
    assert_eq!(got, want);
    src.finish().unwrap();
}

/// Rows times a list's length that overflow a count are refused before anything is read.
#[test]
fn a_shape_too_large_to_count_is_refused() {
    let item = Arc::new(Field::new("item", DataType::Float64, true));
    let list = DataType::FixedSizeList(item, i32::MAX);
    let schema = Arc::new(Schema::new(vec![Field::new("l", list, true)]));
    let table = Table::new(Arc::new(Ragged), schema, usize::MAX / 4, 1);
    let err = table.reader(Some("l")).err().unwrap();
    assert!(
        err.to_string().contains("more values than huber can count"),
        "{err}"
    );
}

/// Arrow IPC files whose compressed buffer claims 44 TB uncompressed (found by the `arrow_ipc`
/// fuzz target): the LZ4 decompressor allocated the claim and aborted the process; the claim is
/// refused first, as more than its codec can expand the buffer to.
#[test]
fn a_compressed_arrow_buffer_cannot_claim_more_than_its_codec_makes() {
    let files: [&[u8]; 2] = [
        include_bytes!("testdata/ipc-lz4-buffer-claims-44-tb.arrow"),
        include_bytes!("testdata/ipc-zstd-buffer-claims-44-tb.arrow"),
    ];
    for bytes in files {
        let table = ipc::open(Store::mem(Arc::from(bytes))).unwrap();
        let mut source = table.reader(Some("x")).unwrap();
        let mut buf = vec![0.0f64; 1];
        let e = source.read(Buf::F64(&mut buf)).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.contains("more than its codec can expand it to"),
            "{text}"
        );
    }
}

#[test]
fn a_file_is_read_by_position_and_a_file_cut_short_is_an_error() {
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &bytes).unwrap();
    let store = Store::file(file.try_clone().unwrap()).unwrap();
    for (start, len) in [(0, 300_000), (1, 0), (12_345, 200_000), (299_999, 1)] {
        let got = store.bytes(start, len).unwrap();
        assert_eq!(&got[..], &bytes[start as usize..(start + len) as usize]);
    }
    let past = store.bytes(299_000, 1_001).unwrap_err();
    assert!(past.to_string().contains("reach past the end"), "{past}");
    // Another process truncates the file after it was opened: its length is the one measured
    // then, and the read that finds fewer bytes says so.
    file.set_len(100_000).unwrap();
    let cut = store.bytes(50_000, 100_000).unwrap_err();
    assert!(cut.to_string().contains("cut short"), "{cut}");
}
