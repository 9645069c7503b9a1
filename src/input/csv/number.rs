//! Fields into numbers: decimal and scientific, `nan`/`inf`/`infinity` in any case with a sign,
//! spaces around; an empty field is a missing value (NaN).

/// Parses a number as a CSV field may hold it: decimal or scientific, `nan`/`inf`/`infinity` in
/// any case with an optional sign, surrounded by optional spaces, optionally in double quotes.
/// An empty field is not a number here (in a table it is a missing value).
pub fn parse_number(field: &str) -> Option<f64> {
    number(unquote(field.as_bytes()))
}

/// A whole byte string as a number (no spaces around it).
pub(super) fn number(s: &[u8]) -> Option<f64> {
    // fast-float2 reads "inf", "infinity" and "nan" in any case with a sign, and no hex or
    // underscores; it must consume the whole field.
    match fast_float2::parse_partial::<f64, _>(s) {
        Ok((x, n)) if n == s.len() && n > 0 => Some(x),
        _ => None,
    }
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// `s` without spaces around it.
pub(super) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s
        && is_space(*first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && is_space(*last)
    {
        s = rest;
    }
    s
}

/// A field without spaces and one pair of quotes around it (csv-core leaves the quotes of
/// ` "2.5"` in place, as a quote that does not start a field is literal).
fn unquote(field: &[u8]) -> &[u8] {
    match trim(field) {
        [b'"', inner @ .., b'"'] => trim(inner),
        s => s,
    }
}

/// A tokenized field of a wanted column: its number, NaN if it is empty, or why it is not a
/// number.
pub(super) fn field_value(field: &[u8]) -> Result<f64, String> {
    let s = unquote(field);
    if s.is_empty() {
        return Ok(f64::NAN);
    }
    number(s).ok_or_else(|| describe(s))
}

/// A wanted field parsed straight from the raw bytes at the start of `s`, up to the delimiter
/// `d` or a line end (not consumed): its value and length. `None` when the field needs the
/// general path (a quote, or anything that is not a number).
#[inline(always)]
pub(super) fn fast_number(s: &[u8], d: u8) -> Option<(f64, usize)> {
    // The common field: a plain decimal right up to the delimiter or line end.
    match plain_decimal(s) {
        Some((x, n)) if !matches!(s.get(n), Some(b' ' | b'\t')) => Some((x, n)),
        _ => padded_number(s, d),
    }
}

/// [`fast_number`] for the rest: spaces around, exponents, `nan`/`inf`, an empty field.
#[inline(never)]
fn padded_number(s: &[u8], d: u8) -> Option<(f64, usize)> {
    let pad = |c: &u8| is_space(*c) && *c != d;
    let mut i = s.iter().take_while(|c| pad(c)).count();
    match s.get(i) {
        None => return Some((f64::NAN, i)),
        Some(&b) if b == d || b == b'\n' || b == b'\r' => return Some((f64::NAN, i)),
        Some(b'"') => return None,
        Some(_) => {}
    }
    let (x, n) = plain_decimal(&s[i..]).or_else(|| {
        fast_float2::parse_partial::<f64, _>(&s[i..])
            .ok()
            .filter(|(_, n)| *n > 0)
    })?;
    i += n;
    i += s[i..].iter().take_while(|c| pad(c)).count();
    Some((x, i))
}

/// Exact powers of ten as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The common case, fast: `-?digits[.digits]` with at most 15 significant digits and no
/// exponent. The digits form an integer below 2^53 and the divisor is an exact power of ten, so
/// one IEEE division gives the correctly rounded value (Clinger's fast path). Anything else
/// returns `None` and goes to the general parser.
#[inline(always)]
pub(super) fn plain_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let neg = s.first() == Some(&b'-');
    let mut i = usize::from(neg);
    let (mut mant, mut digits, mut frac) = (0u64, 0u32, 0usize);
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
        digits += u32::from(mant != 0);
        i += 1;
    }
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
            digits += u32::from(mant != 0);
            frac += 1;
            i += 1;
        }
    }
    if i == usize::from(neg)
        || s[usize::from(neg)..i] == *b"."
        || digits > 15
        || frac >= POW10.len()
        || s.get(i).is_some_and(|c| c | 0x20 == b'e')
    {
        return None;
    }
    let v = mant as f64 / POW10[frac];
    Some((if neg { -v } else { v }, i))
}

/// Why a field is not a number, for a message.
pub(super) fn describe(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => format!("'{}' is not a number", clip(s)),
        Err(_) => "not valid UTF-8".into(),
    }
}

/// At most 40 characters of a field, with control characters escaped so the message stays on
/// one line.
pub(super) fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}
