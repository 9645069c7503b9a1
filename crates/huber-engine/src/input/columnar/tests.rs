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
