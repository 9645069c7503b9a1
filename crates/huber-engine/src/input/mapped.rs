//! Windows of a file mapped into memory: its cached pages, read in place by the threads that
//! use them, with no copy.

use std::fs::File;

use anyhow::{Result, ensure};
use memmap2::{Advice, Mmap, MmapOptions};

/// Maps bytes `start..start + len` of `file`, advised for a sequential read.
pub(crate) fn map(file: &File, start: u64, len: usize) -> Result<Mmap> {
    // Checked before each window: pages past the end of a file that another process has cut
    // short would end the process with SIGBUS when touched.
    ensure!(
        file.metadata()?.len() >= start + len as u64,
        "the file was cut short while it was read"
    );
    // SAFETY: the file is at least as long as the window (checked just above) and is only
    // read through the mapping. Another process truncating or writing it while mapped is the
    // trade-off every memory-mapping reader makes (see README, "Decisions").
    let map = unsafe { MmapOptions::new().offset(start).len(len).map(file) };
    let map =
        map.map_err(|e| anyhow::anyhow!("cannot map the file: {}", crate::message::io_reason(&e)))?;
    let _ = map.advise(Advice::Sequential);
    Ok(map)
}
