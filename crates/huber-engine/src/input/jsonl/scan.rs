//! JSON Lines records into numbers and text, by a scanner of just the selected fields: each line
//! is walked once, the fields a reader selected are parsed (numbers with the CSV reader's number
//! parser, so a value reads to the same `f64` from either format, once it is spelled as JSON
//! spells numbers), and every other value is stepped over, its grammar checked (brackets,
//! commas, colons, literals, numbers and escapes) but nothing kept.

mod layout;

use crate::input::csv::{json_decimal, number};
pub(crate) use layout::Layout;

/// What a selected field is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A number (or `null`, a missing value; `true`/`false` are 1 and 0).
    Number,
    /// Text, for the keys of `--by`: a string's contents, or a number's or bool's text as written.
    Text,
}

/// The selected fields as a tree of names: a dotted KEY `a.b` is a path into nested objects, and
/// also the name of a top-level field `a.b`, which wins where a line has it.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    nodes: Vec<Node>,
    kinds: Vec<Kind>,
}

#[derive(Debug, Default)]
struct Node {
    children: Vec<(Vec<u8>, usize)>,
    /// The slot a value here fills, and its rank: 0 for a whole top-level name, 1 for a path.
    slot: Option<(usize, u8)>,
}

impl Fields {
    /// The fields of `keys`, one slot each, in order.
    pub(crate) fn new(keys: &[(String, Kind)]) -> Fields {
        let mut fields = Fields {
            nodes: vec![Node::default()],
            kinds: keys.iter().map(|(_, k)| *k).collect(),
        };
        for (slot, (key, _)) in keys.iter().enumerate() {
            let parts: Vec<&str> = key.split('.').collect();
            if parts.len() > 1 {
                fields.insert(&parts, (slot, 1));
            }
            fields.insert(&[key.as_str()], (slot, 0));
        }
        fields
    }

    fn insert(&mut self, path: &[&str], slot: (usize, u8)) {
        let mut node = 0;
        for part in path {
            let found = self.nodes[node]
                .children
                .iter()
                .find(|(name, _)| name == part.as_bytes());
            node = match found {
                Some(&(_, child)) => child,
                None => {
                    self.nodes.push(Node::default());
                    let child = self.nodes.len() - 1;
                    self.nodes[node]
                        .children
                        .push((part.as_bytes().to_vec(), child));
                    child
                }
            };
        }
        self.nodes[node].slot = Some(slot);
    }

    /// The number of slots.
    pub(crate) fn len(&self) -> usize {
        self.kinds.len()
    }

    /// What each slot is read as.
    pub(crate) fn kinds(&self) -> &[Kind] {
        &self.kinds
    }
}

/// One row's values: per slot a number, or the bytes of a text value, and the rank that set it.
pub(crate) struct Row {
    pub values: Vec<f64>,
    pub texts: Vec<Vec<u8>>,
    ranks: Vec<u8>,
}

impl Row {
    pub(crate) fn new(fields: &Fields) -> Row {
        Row {
            values: vec![f64::NAN; fields.len()],
            texts: vec![Vec::new(); fields.len()],
            ranks: vec![u8::MAX; fields.len()],
        }
    }

    /// Whether the line just read has the field of `slot` (a value, `null` included).
    pub(crate) fn found(&self, slot: usize) -> bool {
        self.ranks[slot] != u8::MAX
    }

    fn clear(&mut self) {
        self.values.fill(f64::NAN);
        self.ranks.fill(u8::MAX);
        for t in &mut self.texts {
            t.clear();
        }
    }
}

/// Why a line could not be read: the slot whose value was bad (if it was one), and the text.
#[derive(Debug)]
pub(crate) struct Bad {
    pub slot: Option<usize>,
    pub message: String,
}

fn bad(message: impl Into<String>) -> Bad {
    Bad {
        slot: None,
        message: message.into(),
    }
}

/// Whether a line holds nothing but whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r'))
}

/// Reads one line (without its line end), which is not blank, into `row`.
pub(crate) fn line(s: &[u8], fields: &Fields, row: &mut Row) -> Result<(), Bad> {
    row.clear();
    let i = ws(s, 0);
    if s.get(i) != Some(&b'{') {
        if s.get(i) == Some(&b'[') && s.get(ws(s, i + 1)).is_none_or(|&c| c == b'{' || c == b']') {
            return Err(bad(
                "a JSON array, not JSON Lines: huber reads one object per line (pandas writes \
                 that with to_json(orient='records', lines=True), DuckDB with FORMAT json \
                 without ARRAY true)",
            ));
        }
        return Err(bad(
            "not a JSON object (JSON Lines holds one object per line)",
        ));
    }
    let i = ws(s, object(s, i, 0, fields, row)?);
    if i < s.len() {
        return Err(bad(format!(
            "more after the object's end, at byte {}: one object per line",
            i + 1
        )));
    }
    Ok(())
}

#[inline(always)]
fn ws(s: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = s.get(i) {
        i += 1;
    }
    i
}

/// The object at `s[i] == '{'`, whose fields are looked up under `node`; returns its end.
fn object(s: &[u8], i: usize, node: usize, fields: &Fields, row: &mut Row) -> Result<usize, Bad> {
    let mut i = ws(s, i + 1);
    if s.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if s.get(i) != Some(&b'"') {
            return Err(bad(format!("byte {}: a field name was expected", i + 1)));
        }
        let end = string_end(s, i)?;
        let name = &s[i + 1..end - 1];
        let child = child(fields, node, name);
        i = ws(s, end);
        if s.get(i) != Some(&b':') {
            return Err(bad(format!("byte {}: ':' was expected", i + 1)));
        }
        i = ws(s, i + 1);
        i = match child {
            Some(c) => value_into(s, i, c, fields, row)?,
            None => skip(s, i)?,
        };
        i = ws(s, i);
        match s.get(i) {
            Some(b',') => i = ws(s, i + 1),
            Some(b'}') => return Ok(i + 1),
            Some(_) => return Err(bad(format!("byte {}: ',' or '}}' was expected", i + 1))),
            None => {
                return Err(bad(
                    "the line ends inside an object: ',' or '}' was expected",
                ));
            }
        }
    }
}

/// The child of `node` named `name` (as written between the quotes), if it is selected.
#[inline]
fn child(fields: &Fields, node: usize, name: &[u8]) -> Option<usize> {
    let children = &fields.nodes[node].children;
    if children.is_empty() {
        return None;
    }
    if name.contains(&b'\\') {
        let name = unescape(name).ok()?;
        return children.iter().find(|(n, _)| *n == name).map(|&(_, c)| c);
    }
    children.iter().find(|(n, _)| n == name).map(|&(_, c)| c)
}

/// A value at `s[i]` under a selected name: into its slot, or into the object it leads into.
fn value_into(
    s: &[u8],
    i: usize,
    node: usize,
    fields: &Fields,
    row: &mut Row,
) -> Result<usize, Bad> {
    let n = &fields.nodes[node];
    match n.slot {
        Some((slot, rank)) => {
            let (end, ok) = match fields.kinds[slot] {
                Kind::Number => {
                    let (x, end) = number_at(s, i).map_err(|m| Bad {
                        slot: Some(slot),
                        message: m,
                    })?;
                    if rank <= row.ranks[slot] {
                        row.values[slot] = x;
                    }
                    (end, true)
                }
                Kind::Text => text_at(s, i, slot, rank, row)?,
            };
            if ok && rank <= row.ranks[slot] {
                row.ranks[slot] = rank;
            }
            Ok(end)
        }
        None if s.get(i) == Some(&b'{') => object(s, i, node, fields, row),
        None => skip(s, i),
    }
}

/// The number at `s[i]` and where it ends: `null` is a missing value (NaN), `true` and `false`
/// are 1 and 0; `NaN`, `Infinity` and `-Infinity`, which Python's `json` writes, are read too.
/// Numbers are spelled as JSON spells them (no `+1`, `.5`, `1.`, `01` or `inf`).
#[inline]
fn number_at(s: &[u8], i: usize) -> Result<(f64, usize), String> {
    let rest = &s[i..];
    if let Some((x, n)) = json_decimal(rest)
        && ends_value(rest.get(n))
    {
        return Ok((x, i + n));
    }
    match rest.first() {
        Some(b'"') => {
            let end = string_end(s, i).map_err(|b| b.message)?;
            let text = String::from_utf8_lossy(&s[i + 1..end - 1]);
            return Err(format!("a string (\"{}\"), not a number", clip(&text)));
        }
        Some(b'{') => return Err("an object, not a number".into()),
        Some(b'[') => return Err("an array, not a number".into()),
        None => return Err("a value was expected".into()),
        _ => {}
    }
    let n = token_len(rest);
    let token = &rest[..n];
    let x = match token {
        b"null" | b"NaN" => f64::NAN,
        b"true" => 1.0,
        b"false" => 0.0,
        b"Infinity" => f64::INFINITY,
        b"-Infinity" => f64::NEG_INFINITY,
        _ => json_number(token)
            .then(|| number(token))
            .flatten()
            .ok_or_else(|| {
                format!(
                    "'{}' is not a number",
                    clip(&String::from_utf8_lossy(token))
                )
            })?,
    };
    Ok((x, i + n))
}

/// The text of the value at `s[i]` into `row.texts[slot]`: a string's contents unescaped, or a
/// scalar's token as written; `null` leaves it empty.
fn text_at(s: &[u8], i: usize, slot: usize, rank: u8, row: &mut Row) -> Result<(usize, bool), Bad> {
    let at_slot = |m: String| Bad {
        slot: Some(slot),
        message: m,
    };
    let take = rank <= row.ranks[slot];
    match s.get(i) {
        Some(b'"') => {
            let end = string_end(s, i)?;
            if take {
                row.texts[slot] = unescape(&s[i + 1..end - 1]).map_err(at_slot)?;
            }
            Ok((end, true))
        }
        Some(b'{' | b'[') => Err(at_slot("an object or array, not a key".into())),
        Some(_) => {
            let n = scalar(s, i).map_err(|b| at_slot(b.message))? - i;
            if take {
                row.texts[slot].clear();
                if &s[i..i + n] != b"null" {
                    row.texts[slot].extend_from_slice(&s[i..i + n]);
                }
            }
            Ok((i + n, true))
        }
        None => Err(at_slot("a value was expected".into())),
    }
}

#[inline(always)]
fn ends_value(next: Option<&u8>) -> bool {
    matches!(
        next,
        None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
    )
}

/// The length of the scalar token at the start of `s` (a number or a literal).
fn token_len(s: &[u8]) -> usize {
    s.iter()
        .position(|c| ends_value(Some(c)))
        .unwrap_or(s.len())
}

/// Where the string at `s[i] == '"'` ends (after its closing quote).
#[inline]
fn string_end(s: &[u8], i: usize) -> Result<usize, Bad> {
    let mut j = i + 1;
    // Names and ids are short: a byte loop ends them sooner than a vector search starts.
    let short = s.len().min(j + 24);
    while j < short {
        match s[j] {
            b'"' => return Ok(j + 1),
            b'\\' => break,
            _ => j += 1,
        }
    }
    loop {
        match memchr::memchr2(b'"', b'\\', &s[j..]) {
            Some(k) if s[j + k] == b'"' => return Ok(j + k + 1),
            Some(k) => j = escape_end(s, j + k)?,
            None => return Err(bad("a string is not closed")),
        }
    }
}

/// Where the escape at `s[i] == '\\'` ends, if JSON has it.
fn escape_end(s: &[u8], i: usize) -> Result<usize, Bad> {
    match s.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u')
            if s.get(i + 2..i + 6)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
        {
            Ok(i + 6)
        }
        Some(b'u') => Err(bad(format!(
            "byte {}: a '\\u' escape without four hex digits",
            i + 1
        ))),
        Some(&c) => Err(bad(format!(
            "byte {}: '\\{}' is not a JSON escape",
            i + 1,
            clip(&String::from_utf8_lossy(&[c]))
        ))),
        None => Err(bad("a string is not closed")),
    }
}

/// Steps over the value at `s[i]`, whatever it is, checking its grammar (brackets that match,
/// commas and colons where JSON puts them, literals and numbers as JSON spells them, and
/// Python's `NaN`, `Infinity` and `-Infinity`); returns where it ends.
#[inline]
fn skip(s: &[u8], i: usize) -> Result<usize, Bad> {
    match s.get(i) {
        Some(b'"') => string_end(s, i),
        Some(b'{' | b'[') => nested(s, i),
        Some(_) => scalar(s, i),
        None => Err(bad("a value was expected")),
    }
}

/// What [`nested`] expects next.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    /// A value; or, just after a `[`, the `]` of an empty array.
    Value { first: bool },
    /// A field name; or, just after a `{`, the `}` of an empty object.
    Name { first: bool },
    /// A `,` or the closer of the innermost open object or array.
    Next,
}

/// Steps over the object or array at `s[i]`, with a stack of the closers it waits for.
// Out of line, so that `skip` inlines: the values stepped over on the hot path are strings and
// numbers (callgrind: 1.4 % more instructions for the whole run with it inlined).
#[inline(never)]
fn nested(s: &[u8], mut i: usize) -> Result<usize, Bad> {
    let mut open = Closers::default();
    let mut want = Want::Value { first: false };
    loop {
        i = ws(s, i);
        let Some(&c) = s.get(i) else {
            return Err(bad(format!(
                "the line ends inside an object or array: '{}' was expected",
                char::from(open.top().unwrap_or(b'}'))
            )));
        };
        want = match (want, c) {
            (Want::Value { .. }, b'{') => {
                open.push(b'}');
                i += 1;
                Want::Name { first: true }
            }
            (Want::Value { .. }, b'[') => {
                open.push(b']');
                i += 1;
                Want::Value { first: true }
            }
            (Want::Value { first: true }, b']')
            | (Want::Name { first: true }, b'}')
            | (Want::Next, b']' | b'}') => {
                match open.pop() {
                    Some(close) if close == c => {}
                    Some(close) => return Err(mismatched(i, c, close)),
                    None => unreachable!("a closer is wanted only inside an open value"),
                }
                i += 1;
                if open.is_empty() {
                    return Ok(i);
                }
                Want::Next
            }
            (Want::Value { .. }, _) => {
                i = skip_flat(s, i)?;
                Want::Next
            }
            (Want::Name { .. }, b'"') => {
                i = ws(s, string_end(s, i)?);
                if s.get(i) != Some(&b':') {
                    return Err(bad(format!("byte {}: ':' was expected", i + 1)));
                }
                i += 1;
                Want::Value { first: false }
            }
            (Want::Name { .. }, _) => {
                return Err(bad(format!("byte {}: a field name was expected", i + 1)));
            }
            (Want::Next, b',') => {
                i += 1;
                match open.top() {
                    Some(b'}') => Want::Name { first: false },
                    _ => Want::Value { first: false },
                }
            }
            (Want::Next, _) => {
                let close = open.top().unwrap_or(b'}');
                return Err(bad(format!(
                    "byte {}: ',' or '{}' was expected",
                    i + 1,
                    char::from(close)
                )));
            }
        };
    }
}

/// A string or scalar inside an object or array (its brackets are [`nested`]'s).
#[inline]
fn skip_flat(s: &[u8], i: usize) -> Result<usize, Bad> {
    match s[i] {
        b'"' => string_end(s, i),
        _ => scalar(s, i),
    }
}

fn mismatched(i: usize, found: u8, close: u8) -> Bad {
    bad(format!(
        "byte {}: '{}' where '{}' was expected: brackets and braces do not match",
        i + 1,
        char::from(found),
        char::from(close)
    ))
}

/// The closers an object or array being stepped over waits for, innermost last: on the stack up
/// to 32 deep, beyond that on the heap (a line of 1 MiB may nest half a million deep).
#[derive(Default)]
struct Closers {
    near: [u8; 32],
    len: usize,
    far: Vec<u8>,
}

impl Closers {
    fn push(&mut self, c: u8) {
        match self.near.get_mut(self.len) {
            Some(slot) => *slot = c,
            None => self.far.push(c),
        }
        self.len += 1;
    }

    fn pop(&mut self) -> Option<u8> {
        let c = self.top()?;
        if self.len > self.near.len() {
            self.far.pop();
        }
        self.len -= 1;
        Some(c)
    }

    fn top(&self) -> Option<u8> {
        match self.len {
            0 => None,
            n if n <= self.near.len() => Some(self.near[n - 1]),
            _ => self.far.last().copied(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Steps over the scalar at `s[i]`: a JSON literal or number, or Python's `NaN`, `Infinity`,
/// `-Infinity`.
#[inline]
fn scalar(s: &[u8], i: usize) -> Result<usize, Bad> {
    let rest = &s[i..];
    let n = match rest.first() {
        Some(b'0'..=b'9') => json_number_len(rest),
        Some(b'-') if rest.get(1) != Some(&b'I') => json_number_len(rest),
        _ => [
            &b"null"[..],
            b"true",
            b"false",
            b"NaN",
            b"Infinity",
            b"-Infinity",
        ]
        .into_iter()
        .find(|w| rest.starts_with(w))
        .map(<[u8]>::len),
    };
    match n {
        Some(n) if ends_value(rest.get(n)) => Ok(i + n),
        _ => match token_len(rest) {
            0 => Err(bad(format!("byte {}: a value was expected", i + 1))),
            n => Err(bad(format!(
                "byte {}: '{}' is not a JSON value",
                i + 1,
                clip(&String::from_utf8_lossy(&rest[..n]))
            ))),
        },
    }
}

/// Whether `t` is a number as JSON spells it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn json_number(t: &[u8]) -> bool {
    json_number_len(t) == Some(t.len())
}

/// The length of the JSON number at the start of `t`, if one starts there.
#[inline]
fn json_number_len(t: &[u8]) -> Option<usize> {
    let digits = |mut i: usize| {
        while i < t.len() && t[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let start = usize::from(t.first() == Some(&b'-'));
    let mut i = match t.get(start) {
        Some(b'0') => start + 1,
        Some(b'1'..=b'9') => digits(start + 1),
        _ => return None,
    };
    if t.get(i) == Some(&b'.') {
        let point = i + 1;
        i = digits(point);
        if i == point {
            return None;
        }
    }
    if t.get(i).is_some_and(|c| c | 0x20 == b'e') {
        i += 1;
        if let Some(b'+' | b'-') = t.get(i) {
            i += 1;
        }
        let exp = i;
        i = digits(exp);
        if i == exp {
            return None;
        }
    }
    Some(i)
}

/// The bytes a JSON string's contents (between its quotes) stand for.
pub(crate) fn unescape(s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let Some(k) = memchr::memchr(b'\\', &s[i..]) else {
            out.extend_from_slice(&s[i..]);
            break;
        };
        out.extend_from_slice(&s[i..i + k]);
        i += k + 1;
        let c = *s.get(i).ok_or("a string ends in '\\'")?;
        i += 1;
        let byte = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (ch, n) = unicode(&s[i..])?;
                i += n;
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return Err(format!("'\\{}' is not a JSON escape", char::from(c))),
        };
        out.push(byte);
    }
    Ok(out)
}

/// The character of a `\uXXXX` escape (after its `\u`), a surrogate pair taking two; and the
/// bytes it took.
fn unicode(s: &[u8]) -> Result<(char, usize), String> {
    let hex = |s: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(s.get(..4)?).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let first = hex(s).ok_or("a '\\u' escape without four hex digits")?;
    if (0xD800..0xDC00).contains(&first)
        && s.get(4..6) == Some(b"\\u")
        && let Some(low @ 0xDC00..0xE000) = hex(&s[6..])
    {
        let c = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00);
        return Ok((char::from_u32(c).unwrap_or('\u{FFFD}'), 10));
    }
    Ok((char::from_u32(first).unwrap_or('\u{FFFD}'), 4))
}

/// At most 40 characters of a value, escaped so the message stays on one line.
pub(crate) fn clip(s: &str) -> String {
    huber_core::error::clip(s, 40, true)
}
