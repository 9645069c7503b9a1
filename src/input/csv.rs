//! CSV, TSV and plain-text tables of numbers.

use std::io::Read;

use anyhow::{Result, bail, ensure};

use crate::error::UsageError;

/// Whether the first record is a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMode {
    /// A header if any field of the first record is not a number.
    #[default]
    Detect,
    /// The first record is a header (`--header`).
    Present,
    /// The first record is data (`--no-header`).
    Absent,
}

/// How CSV input is read: the options of the command line that concern it, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// The field delimiter; `None` picks tab for `.tsv` and comma otherwise.
    pub delimiter: Option<u8>,
    /// Header handling.
    pub header: HeaderMode,
}

/// Parses `--delimiter`: one ASCII character, or `tab` / `\t`.
pub fn parse_delimiter(s: &str) -> Result<u8, UsageError> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" && s != "\r" => {
            Ok(s.as_bytes()[0])
        }
        _ => Err(UsageError::new(format!(
            "--delimiter must be one ASCII character other than a quote or line break (or 'tab'), got '{s}'"
        ))),
    }
}

/// A table of numbers, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, if the input had a header.
    pub names: Option<Vec<String>>,
    /// Number of columns.
    pub ncols: usize,
    /// The values, row after row.
    pub data: Vec<f64>,
}

impl Table {
    /// Number of data rows.
    pub fn nrows(&self) -> usize {
        self.data.len().checked_div(self.ncols).unwrap_or(0)
    }

    /// Finds a column by header name or 1-based number (as `cut -f`). Returns its 0-based index.
    pub fn column(&self, key: &str) -> Result<usize> {
        if let Some(i) = self
            .names
            .as_ref()
            .and_then(|n| n.iter().position(|h| h == key))
        {
            return Ok(i);
        }
        if let Ok(k) = key.parse::<usize>() {
            ensure!(
                k >= 1 && k <= self.ncols,
                "column {k} does not exist: the table has {} columns",
                self.ncols
            );
            return Ok(k - 1);
        }
        match &self.names {
            Some(names) => bail!(
                "no column named '{key}'; the columns are: {}",
                names.join(", ")
            ),
            None => bail!(
                "no column named '{key}': the table has no header; use a column number 1..{}",
                self.ncols
            ),
        }
    }

    /// One column's values, in row order.
    pub fn column_values(&self, col: usize) -> Vec<f64> {
        self.data
            .iter()
            .skip(col)
            .step_by(self.ncols.max(1))
            .copied()
            .collect()
    }
}

/// Parses a number as SPEC §2 allows: decimal or scientific, `nan`/`inf`/`infinity` in any case
/// with an optional sign, surrounded by optional spaces.
pub fn parse_number(field: &str) -> Option<f64> {
    let s = field.trim_matches(|c: char| c == ' ' || c == '\t');
    if s.is_empty() {
        return None;
    }
    // Rust's parser reads "inf", "infinity" and "nan" in any case with a sign, and rejects the
    // hex, underscore and other forms that numpy would not write.
    s.parse::<f64>().ok()
}

/// Reads a whole table. `name` is used in messages only by the caller's context.
pub fn read_table(input: impl Read, delimiter: u8, header: HeaderMode) -> Result<Table> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut names = None;
    let mut ncols = 0usize;
    let mut data = Vec::new();
    let mut first = true;
    loop {
        let more = rdr
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(&e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        // A completely empty line (csv yields one empty field) is skipped, as numpy and awk do.
        if record.len() == 1 && record[0].iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let fields: Vec<&str> = record
            .iter()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f)
                    .map_err(|_| anyhow::anyhow!("line {line}, column {}: not valid UTF-8", i + 1))
            })
            .collect::<Result<_>>()?;
        if first {
            first = false;
            ncols = fields.len();
            let is_header = match header {
                HeaderMode::Present => true,
                HeaderMode::Absent => false,
                HeaderMode::Detect => fields
                    .iter()
                    .any(|f| parse_number(f).is_none() && !f.trim().is_empty()),
            };
            if is_header {
                names = Some(fields.iter().map(|f| f.trim().to_string()).collect());
                continue;
            }
        }
        if fields.len() != ncols {
            bail!(
                "line {line}: {} fields where the first row has {ncols}",
                fields.len()
            );
        }
        for (i, f) in fields.iter().enumerate() {
            match parse_number(f) {
                Some(x) => data.push(x),
                None if f.trim().is_empty() => bail!("line {line}, column {}: empty field", i + 1),
                None => bail!(
                    "line {line}, column {}: '{}' is not a number",
                    i + 1,
                    clip(f)
                ),
            }
        }
    }
    if first {
        bail!("no data: the input is empty");
    }
    if data.is_empty() {
        bail!("no data rows: the input holds only a header");
    }
    Ok(Table { names, ncols, data })
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn csv_error(e: &csv::Error) -> anyhow::Error {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Io(io) => anyhow::anyhow!("{at}{io}"),
        _ => anyhow::anyhow!("{at}{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> Result<Table> {
        read_table(s.as_bytes(), b',', HeaderMode::Detect)
    }

    #[test]
    fn detects_header_and_spellings() {
        let t = table("\u{feff}pred,target\r\n1, 2\r\n\"-inf\",NaN\r\n+Infinity,1e-3\r\n").unwrap();
        assert_eq!(
            t.names.as_deref(),
            Some(&["pred".to_string(), "target".to_string()][..])
        );
        assert_eq!(t.nrows(), 3);
        assert_eq!(t.column("target").unwrap(), 1);
        assert_eq!(t.column("1").unwrap(), 0);
        assert_eq!(t.data[2], f64::NEG_INFINITY);
        assert!(t.data[3].is_nan());
        assert_eq!(t.data[4], f64::INFINITY);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = table("1,2\n3,x\n").unwrap_err().to_string();
        assert_eq!(e, "line 2, column 2: 'x' is not a number");
        let e = table("1,2\n3,\n").unwrap_err().to_string();
        assert_eq!(e, "line 2, column 2: empty field");
        let e = table("1,2\n3\n").unwrap_err().to_string();
        assert_eq!(e, "line 2: 1 fields where the first row has 2");
        assert!(
            table("a,b\n")
                .unwrap_err()
                .to_string()
                .contains("only a header")
        );
        assert!(table("").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn unknown_key_lists_columns() {
        let e = table("a,b\n1,2\n")
            .unwrap()
            .column("c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a, b"), "{e}");
    }

    #[test]
    fn hex_and_underscores_are_not_numbers() {
        for s in ["0x10", "1_000", "", " ", "1e", "--1"] {
            assert_eq!(parse_number(s), None, "{s}");
        }
        assert_eq!(parse_number(" 2.5 "), Some(2.5));
    }
}
