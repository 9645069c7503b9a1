//! The layout of the last line, so the next one that shares it is read without looking up its
//! names: most JSON Lines files spell every line's names, in the same order, with the same
//! spaces, and only the values differ.
//!
//! A layout is the line cut at its top-level values: the bytes before each value (`{"id":`,
//! `,"pred":`), what is done with the value after them (read into the field its name selects, or
//! stepped over), and the bytes after the last one (`}`). A line that starts with the same
//! bytes before its first value, whose value is read by the same step, followed by the same
//! bytes before the second, and so on, is by construction read as `line` reads it: the bytes
//! that name each value are the same, so the same field is selected, and the values themselves
//! are read by the very functions `line` calls. Any other line, a bad one included, is read by
//! `line` from its start (so its error is `line`'s), and its layout learnt for the lines after it.

use super::{Bad, Fields, Row, child, line, skip, string_end, value_into, ws};

/// A line's layout; see the module's text.
#[derive(Default)]
pub(crate) struct Layout {
    /// The bytes between the values, back to back.
    bytes: Vec<u8>,
    /// Per top-level value: where its leading bytes end in `bytes`, and the node whose field it
    /// fills (`None`: stepped over). The bytes after the last value follow.
    steps: Vec<(usize, Option<usize>)>,
    learnt: bool,
    /// Lines read, and lines whose layout was not the last one's: when most lines differ, the
    /// layout is not worth learning, and learning stops.
    lines: usize,
    misses: usize,
    scratch: Option<Row>,
}

impl Layout {
    /// Reads one line as `line` does: into the same row, or with the same error.
    pub(crate) fn line(&mut self, s: &[u8], fields: &Fields, row: &mut Row) -> Result<(), Bad> {
        self.lines += 1;
        if self.learnt && self.read(s, fields, row) {
            return Ok(());
        }
        line(s, fields, row)?;
        self.misses += 1;
        if self.misses < 16 || self.misses * 4 < self.lines {
            self.learn(s, fields);
        } else {
            self.learnt = false;
        }
        Ok(())
    }

    /// Reads `s` by the layout into `row`, if `s` has it.
    #[inline]
    fn read(&self, s: &[u8], fields: &Fields, row: &mut Row) -> bool {
        row.clear();
        let mut i = 0;
        let mut from = 0;
        for &(to, node) in &self.steps {
            if !has_at(s, i, &self.bytes[from..to]) {
                return false;
            }
            i += to - from;
            from = to;
            let end = match node {
                Some(node) => value_into(s, i, node, fields, row),
                None => skip(s, i),
            };
            match end {
                Ok(end) => i = end,
                Err(_) => return false,
            }
        }
        s.get(i..) == Some(&self.bytes[from..])
    }

    /// Learns the layout of `s`, a line `line` has read.
    fn learn(&mut self, s: &[u8], fields: &Fields) {
        let mut scratch = self.scratch.take().unwrap_or_else(|| Row::new(fields));
        self.learnt = self.cut(s, fields, &mut scratch).is_some();
        self.scratch = Some(scratch);
    }

    /// Cuts `s` at its top-level values, as `object` walks them.
    fn cut(&mut self, s: &[u8], fields: &Fields, row: &mut Row) -> Option<()> {
        self.bytes.clear();
        self.steps.clear();
        let mut i = ws(s, ws(s, 0) + 1);
        if s.get(i) == Some(&b'}') {
            // An empty object: the layout is the whole line.
            self.bytes.extend_from_slice(s);
            return Some(());
        }
        let mut from = 0;
        loop {
            let end = string_end(s, i).ok()?;
            let node = child(fields, 0, &s[i + 1..end - 1]);
            i = ws(s, ws(s, end) + 1);
            self.bytes.extend_from_slice(&s[from..i]);
            self.steps.push((self.bytes.len(), node));
            i = match node {
                Some(node) => value_into(s, i, node, fields, row),
                None => skip(s, i),
            }
            .ok()?;
            from = i;
            i = ws(s, i);
            match s.get(i)? {
                b',' => i = ws(s, i + 1),
                _ => break,
            }
        }
        self.bytes.extend_from_slice(&s[from..]);
        Some(())
    }
}

/// Whether `s` holds `lit` at `i`: the few bytes between two values, compared a word at a time.
#[inline(always)]
fn has_at(s: &[u8], i: usize, lit: &[u8]) -> bool {
    let n = lit.len();
    let Some(t) = s.get(i..i + n) else {
        return false;
    };
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let half = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    match n {
        8..=16 => word(t, 0) == word(lit, 0) && word(t, n - 8) == word(lit, n - 8),
        4..=7 => half(t, 0) == half(lit, 0) && half(t, n - 4) == half(lit, n - 4),
        _ => t == lit,
    }
}
