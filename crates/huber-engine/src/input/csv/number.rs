//! Fields into numbers: decimal and scientific, `nan`/`inf`/`infinity` in any case with a sign,
//! spaces around; an empty field is a missing value (NaN).

/// Parses a number as a CSV field may hold it: decimal or scientific, `nan`/`inf`/`infinity` in
/// any case with an optional sign, surrounded by optional spaces, optionally in double quotes.
/// An empty field is not a number here (in a table it is a missing value).
pub fn parse_number(field: &str) -> Option<f64> {
    number(unquote(field.as_bytes()))
}

/// A whole byte string as a number (no spaces around it).
pub(crate) fn number(s: &[u8]) -> Option<f64> {
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

/// The spellings of a missing value that pandas' `read_csv` takes by default (its
/// `STR_NA_VALUES`, pandas 2 and 3; the empty field is missing anyway). Those that are numbers
/// to the number parser already (`NaN`, `nan`, `-NaN`, `-nan`) are NaN either way.
pub const PANDAS_NA: [&str; 18] = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The words that mean a missing value in a text table: pandas' defaults ([`PANDAS_NA`]) and
/// those given with `--na`. Looked up only for a field that is not a number, so that the
/// numbers' fast path does not pay for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Missing {
    extra: Vec<Vec<u8>>,
}

impl Missing {
    /// pandas' defaults and `extra` (each compared after the spaces around a field are taken
    /// off, as numbers are).
    pub fn new(extra: &[String]) -> Missing {
        Missing {
            extra: extra.iter().map(|s| trim(s.as_bytes()).to_vec()).collect(),
        }
    }

    /// Whether `field` (without spaces and quotes around it) spells a missing value.
    pub fn holds(&self, field: &[u8]) -> bool {
        PANDAS_NA.iter().any(|w| w.as_bytes() == field) || self.extra.iter().any(|w| w == field)
    }

    /// [`field_value`] with these spellings read as missing values (NaN).
    pub(super) fn value(&self, field: &[u8]) -> Result<f64, String> {
        field_value(field).or_else(|why| match self.holds(unquote(field)) {
            true => Ok(f64::NAN),
            false => Err(why),
        })
    }
}

/// A wanted field parsed straight from the raw bytes at the start of `s`, up to the delimiter
/// `d` or a line end (not consumed): its value and length. `None` when the field needs the
/// general path (a quote, or anything that is not a number).
#[inline(always)]
pub(super) fn fast_number(s: &[u8], d: u8) -> Option<(f64, usize)> {
    // The common field: a decimal right up to the delimiter or line end.
    match decimal(s) {
        Some((x, n)) if !matches!(s.get(n), Some(b' ' | b'\t')) => Some((x, n)),
        _ => padded_number(s, d),
    }
}

/// [`fast_number`] for the rest: spaces around, `nan`/`inf`, an empty field.
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
    let (x, n) = decimal(&s[i..]).or_else(|| {
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

/// The first `N` powers of `base`.
const fn powers<const N: usize>(base: u64) -> [u64; N] {
    let mut p = [1; N];
    let mut k = 1;
    while k < N {
        p[k] = p[k - 1] * base;
        k += 1;
    }
    p
}

/// Powers of five, the odd part of [`POW10`].
const POW5: [u64; 23] = powers(5);

/// Every integer up to 2^53 is exact as an `f64`.
const EXACT: u64 = 1 << 53;

/// A number in one scan: `[+-]?digits[.digits][(e|E)[+-]digits]` at the start of `s` (digits on
/// at least one side of the point), its value and length. `None` when `s` does not start so.
///
/// The digits are gathered in a `u64` as they are read; up to 19 of them cannot overflow it.
/// Then the value is `mant · 10^exp` rounded once, as `str::parse` rounds it:
/// - -22 ≤ exp ≤ 0 (every field without an exponent, integers too, such as the 16- and
///   17-digit ones that pandas and polars write): an integer division, see [`divided`];
/// - 0 < exp ≤ 22 and `mant` ≤ 2^53: both factors are exact `f64`s, so one IEEE
///   multiplication rounds correctly (Clinger's fast path);
/// - zero is zero;
/// - anything else (more digits, large exponents) goes to `fast_float2` with exactly the bytes
///   scanned here.
#[inline(always)]
pub(crate) fn decimal(s: &[u8]) -> Option<(f64, usize)> {
    decimal_as::<false>(s)
}

/// [`decimal`] of a number spelled as JSON spells it (no `+`, digits on both sides of a point,
/// no leading zero), else `None`; the checks are on positions the parse finds anyway.
#[inline(always)]
pub(crate) fn json_decimal(s: &[u8]) -> Option<(f64, usize)> {
    decimal_as::<true>(s)
}

#[inline(always)]
fn decimal_as<const JSON: bool>(s: &[u8]) -> Option<(f64, usize)> {
    // Signs vary from field to field: taken without a branch.
    let first = s.first().copied().unwrap_or(0);
    let neg = first == b'-';
    let start = usize::from(neg | (first == b'+'));
    // One digit before the point (as in most fields that floats are written to) is taken
    // without the word-at-a-time loop, which would try eight bytes first.
    let (mut mant, mut i) = match s.get(start..start + 2) {
        Some(&[c, b'.']) if c.is_ascii_digit() => (u64::from(c - b'0'), start + 1),
        _ => digits(s, start, 0),
    };
    let mut count = i - start;
    // What JSON does not spell (`+1`, `.5`, `01`, `1.`), noted and refused once at the end, so
    // that the parse itself runs as it does for CSV.
    let mut unjson = JSON & ((first == b'+') | (count == 0) | (count > 1 && s[start] == b'0'));
    let mut exp = 0;
    if s.get(i) == Some(&b'.') {
        let point = i + 1;
        (mant, i) = match digit_run(s, point) {
            // Up to 19 digits in all fit a u64.
            Some((run, n)) if count + n <= 19 => (mant * POW10_U64[n] + run, point + n),
            _ => digits(s, point, mant),
        };
        unjson |= JSON & (i == point);
        count += i - point;
        exp = -((i - point) as i64);
    }
    if count == 0 || unjson {
        return None;
    }
    if s.get(i).is_some_and(|c| c | 0x20 == b'e') {
        let (e, n) = exponent(&s[i + 1..])?;
        exp += e;
        i += 1 + n;
    }
    // Whether a mantissa fits 53 bits varies from field to field too (16 or 17 digits), so
    // every one without a positive exponent takes the integer division.
    let v = if count > 19 {
        return fast_float2::parse(&s[..i]).ok().map(|x| (x, i));
    } else if mant == 0 {
        0.0
    } else if (-22..=0).contains(&exp) {
        divided(mant, exp.unsigned_abs() as usize)
    } else if mant <= EXACT && (1..=22).contains(&exp) {
        mant as f64 * POW10[exp as usize]
    } else {
        return fast_float2::parse(&s[..i]).ok().map(|x| (x, i));
    };
    // `v` is not negative: the sign is its top bit.
    Some((f64::from_bits(v.to_bits() | u64::from(neg) << 63), i))
}

/// The decimal digits of `s` from `i` appended to `mant` (wrapping past 19 digits), and where
/// they end. Eight digits at a time while they last: most fields have 16 or 17.
#[inline(always)]
fn digits(s: &[u8], mut i: usize, mut mant: u64) -> (u64, usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(sixteen) = s.get(i..i + 16).and_then(sixteen_digits) {
        mant = mant
            .wrapping_mul(10_000_000_000_000_000)
            .wrapping_add(sixteen);
        i += 16;
    }
    while let Some(eight) = s.get(i..i + 8).and_then(eight_digits) {
        mant = mant.wrapping_mul(100_000_000).wrapping_add(eight);
        i += 8;
    }
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    (mant, i)
}

/// Powers of ten up to 10^19, the largest a `u64` holds.
const POW10_U64: [u64; 20] = powers(10);

/// The inverses of the powers of five modulo 2^64: `x · INV5[k]` is `x / 5^k` for any `x` that
/// `5^k` divides (the division is exact, so the low 64 bits of the product are the quotient).
const INV5: [u64; 17] = {
    let mut t = [1u64; 17];
    // Newton's iteration for the inverse of 5 modulo 2^64: each step doubles the bits that
    // are right, from the 3 that 5 · 5 ≡ 1 (mod 8) gives.
    let mut inv: u64 = 5;
    let mut step = 0;
    while step < 5 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(5u64.wrapping_mul(inv)));
        step += 1;
    }
    let mut k = 1;
    while k < t.len() {
        t[k] = t[k - 1].wrapping_mul(inv);
        k += 1;
    }
    t
};

/// `x / 10^k` for an `x` that `10^k` divides, `k` ≤ 16: a shift and one multiplication.
#[inline(always)]
fn exact_div_pow10(x: u64, k: usize) -> u64 {
    (x >> k).wrapping_mul(INV5[k])
}

/// The run of decimal digits at `s[i..]` as an integer, and its length, when it is at most 19
/// digits long and 32 bytes are there to look at: found without a branch on the length, which
/// varies from field to field (15 to 18 digits after the point in the shortest forms that
/// pandas and polars write), so that it is not mispredicted. `None` otherwise: then [`digits`]
/// reads them.
#[inline(always)]
fn digit_run(s: &[u8], i: usize) -> Option<(u64, usize)> {
    #[cfg(target_arch = "x86_64")]
    {
        let bytes: &[u8; 32] = s.get(i..i + 32)?.try_into().ok()?;
        // SAFETY: SSE2 is part of x86-64 itself.
        unsafe { digit_run_sse2(bytes) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (s, i);
        None
    }
}

/// [`digit_run`] on x86-64: both halves of the 32 bytes as 16 digits each, with the lanes from
/// the first non-digit on set to zero, so that the two values are the run's digits followed by
/// zeros; dividing out those zeros is exact.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn digit_run_sse2(b: &[u8; 32]) -> Option<(u64, usize)> {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_set_epi8,
        _mm_set1_epi8, _mm_setzero_si128, _mm_sub_epi8, _mm_subs_epu8,
    };
    let lo: __m128i = bytemuck::pod_read_unaligned(&b[..16]);
    let hi: __m128i = bytemuck::pod_read_unaligned(&b[16..]);
    let zero_digit = _mm_set1_epi8(b'0' as i8);
    let (lo, hi) = (_mm_sub_epi8(lo, zero_digit), _mm_sub_epi8(hi, zero_digit));
    // A digit is at most 9 after the subtraction (as unsigned): nothing left above 9.
    let is_digit = |d| {
        let above = _mm_subs_epu8(d, _mm_set1_epi8(9));
        _mm_movemask_epi8(_mm_cmpeq_epi8(above, _mm_setzero_si128())) as u16
    };
    let digits = u32::from(is_digit(lo)) | u32::from(is_digit(hi)) << 16;
    let n = (!digits).trailing_zeros() as usize;
    if n > 19 {
        return None;
    }
    let lane = _mm_set_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    let keep = |d, first: i8| {
        let within = _mm_cmplt_epi8(lane, _mm_set1_epi8(n as i8 - first));
        _mm_and_si128(d, within)
    };
    let a = sixteen_value(keep(lo, 0));
    let b = sixteen_value(keep(hi, 16));
    // The run is a · 10^16 + b followed by 32 − n zeros: `a` holds min(n, 16) digits and
    // `b` the rest.
    let in_a = n.min(16);
    let run =
        exact_div_pow10(a, 16 - in_a) * POW10_U64[n - in_a] + exact_div_pow10(b, 32 - n.max(16));
    Some((run, n))
}

/// The value of sixteen digits (0 to 9, one per byte lane, the first weighing most), with SSE2:
/// as 16-bit lanes, combined in pairs, quads and eights by multiply-adds, then the two eights
/// as integers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn sixteen_value(d: std::arch::x86_64::__m128i) -> u64 {
    use std::arch::x86_64::{
        _mm_cvtsi128_si32, _mm_madd_epi16, _mm_packs_epi32, _mm_set_epi16, _mm_setzero_si128,
        _mm_shuffle_epi32, _mm_unpackhi_epi8, _mm_unpacklo_epi8,
    };
    let zero = _mm_setzero_si128();
    // Lane 0 (the first digit) weighs most in each pair, quad and eight.
    let pairs = |x| _mm_madd_epi16(x, _mm_set_epi16(1, 10, 1, 10, 1, 10, 1, 10));
    let pairs = _mm_packs_epi32(
        pairs(_mm_unpacklo_epi8(d, zero)),
        pairs(_mm_unpackhi_epi8(d, zero)),
    );
    let quads = _mm_madd_epi16(pairs, _mm_set_epi16(1, 100, 1, 100, 1, 100, 1, 100));
    let quads = _mm_packs_epi32(quads, quads);
    let eights = _mm_madd_epi16(quads, _mm_set_epi16(1, 10000, 1, 10000, 1, 10000, 1, 10000));
    let first = _mm_cvtsi128_si32(eights) as u32;
    let second = _mm_cvtsi128_si32(_mm_shuffle_epi32::<1>(eights)) as u32;
    u64::from(first) * 100_000_000 + u64::from(second)
}

/// The value of eight ASCII digits, or `None` if any of the bytes is not a digit: the bytes as
/// one little-endian word, checked and combined in pairs, then quads, then the eight (the SWAR
/// method of simdjson and fast_float).
#[inline(always)]
fn eight_digits(b: &[u8]) -> Option<u64> {
    let v = u64::from_le_bytes(b.try_into().ok()?);
    let low = v.wrapping_sub(0x3030_3030_3030_3030);
    if (v.wrapping_add(0x4646_4646_4646_4646) | low) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    let pairs = low.wrapping_mul(10).wrapping_add(low >> 8);
    let a = (pairs & 0x0000_00FF_0000_00FF).wrapping_mul(0x000F_4240_0000_0064);
    let b = ((pairs >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(0x0000_2710_0000_0001);
    Some(u64::from((a.wrapping_add(b) >> 32) as u32))
}

/// The value of sixteen ASCII digits, or `None` if any of the bytes is not a digit, with SSE2
/// (which every x86-64 processor has): the digits as 16-bit lanes, combined in pairs, quads and
/// eights by multiply-adds, then the two eights as integers.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn sixteen_digits(b: &[u8]) -> Option<u64> {
    // SAFETY: SSE2 is part of x86-64 itself.
    unsafe { sixteen_digits_sse2(b) }
}

/// [`sixteen_digits`] on x86-64.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn sixteen_digits_sse2(b: &[u8]) -> Option<u64> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set1_epi8, _mm_setzero_si128, _mm_sub_epi8,
        _mm_subs_epu8,
    };
    let v: __m128i = bytemuck::pod_read_unaligned(b.get(..16)?);
    let d = _mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8));
    // A digit is at most 9 after the subtraction (as unsigned): nothing left above 9.
    let above = _mm_subs_epu8(d, _mm_set1_epi8(9));
    if _mm_movemask_epi8(_mm_cmpeq_epi8(above, _mm_setzero_si128())) != 0xFFFF {
        return None;
    }
    Some(sixteen_value(d))
}

/// An exponent after its `e`: `[+-]?digits`, its value (clamped far beyond any `f64`'s range)
/// and length. `None` without digits.
#[inline(never)]
fn exponent(s: &[u8]) -> Option<(i64, usize)> {
    let neg = s.first() == Some(&b'-');
    let start = usize::from(matches!(s.first(), Some(b'-' | b'+')));
    let mut e = 0i64;
    let mut i = start;
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d < 10) {
        e = (e * 10 + i64::from(d)).min(1 << 20);
        i += 1;
    }
    (i > start).then_some((if neg { -e } else { e }, i))
}

/// `m / 10^k`, correctly rounded, for 0 < `m` and `k` ≤ 22, with one rounding: as
/// `10^k = 5^k · 2^k`, it is `q · 2^-(s + k)` for the integer quotient `q = m · 2^s / 5^k`, with
/// `s` chosen so that `q` fills 63 or 64 bits. The remainder then only decides a sticky bit at
/// least nine bits below the rounding position, the conversion of `q` to `f64` is the one
/// rounding, and scaling by a power of two is exact.
#[inline]
fn divided(m: u64, k: usize) -> f64 {
    let s = 63 + m.leading_zeros() - POW5[k].leading_zeros();
    // With both normalized (top bit set), `m · 2^s / 5^k = (m << lz) · 2^63 / (5^k << lz')`.
    let m = m << m.leading_zeros();
    let (q, r) = div_by_pow5(m >> 1, m << 63, k);
    // Halved, with the bit shifted out kept as sticky too, `q` fits an `i64`, whose conversion
    // is one instruction (a `u64`'s takes several); the scale doubles to make up for it.
    let q = q | u64::from(r != 0);
    let half = (q >> 1 | q & 1) as i64;
    half as f64 * f64::from_bits(u64::from(1024 - s - k as u32) << 52)
}

/// `5^k` shifted up to its top bit, and its reciprocal for [`div_by_pow5`]:
/// `⌊(2^128 − 1) / d⌋ − 2^64`.
const POW5_NORMALIZED: [(u64, u64); 23] = {
    let mut t = [(0, 0); 23];
    let mut k = 0;
    while k < t.len() {
        let d = POW5[k] << POW5[k].leading_zeros();
        t[k] = (d, (u128::MAX / d as u128 - (1 << 64)) as u64);
        k += 1;
    }
    t
};

/// The quotient and remainder of the 128-bit `hi · 2^64 + lo` by `5^k` normalized (see
/// [`POW5_NORMALIZED`]), for `hi` below the divisor: division by an invariant integer with a
/// precomputed reciprocal (Möller and Granlund, "Improved division by invariant integers",
/// 2011, algorithm 4), two multiplications instead of a 128-bit division.
#[inline(always)]
fn div_by_pow5(hi: u64, lo: u64, k: usize) -> (u64, u64) {
    let (d, v) = POW5_NORMALIZED[k];
    let p =
        (u128::from(v) * u128::from(hi)).wrapping_add((u128::from(hi) + 1) << 64 | u128::from(lo));
    let (mut q, q0) = ((p >> 64) as u64, p as u64);
    let mut r = lo.wrapping_sub(q.wrapping_mul(d));
    if r > q0 {
        q = q.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q += 1;
        r -= d;
    }
    (q, r)
}

/// Why a field is not a number, for a message.
pub(super) fn describe(field: &[u8]) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => format!("'{}' is not a number", clip(s)),
        Err(_) => "not valid UTF-8".into(),
    }
}

/// At most 40 characters of a field, escaped so the message stays on one line.
pub(super) fn clip(s: &str) -> String {
    huber_core::error::clip(s, 40, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xorshift::Rng;

    /// The draws these tests need, on the shared generator.
    trait Draw {
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str;
        fn digits(&mut self, n: usize) -> String;
    }

    impl Draw for Rng {
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[self.below(xs.len())]
        }

        fn digits(&mut self, n: usize) -> String {
            (0..n)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }
    }

    /// What a field must read as: `str::parse` of the field without its spaces and one pair of
    /// quotes around it, NaN for an empty one.
    fn reference(field: &str) -> Option<f64> {
        let spaces = [' ', '\t'];
        let s = field.trim_matches(spaces);
        let s = match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) => inner.trim_matches(spaces),
            None => s,
        };
        match s {
            "" => Some(f64::NAN),
            s => s.parse().ok(),
        }
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan()
    }

    /// A float as pandas and polars write them: the shortest form that reads back, mostly with
    /// 16 or 17 digits, sometimes in scientific notation, of any size.
    fn shortest(r: &mut Rng) -> String {
        let x = if r.below(4) == 0 {
            f64::from_bits(r.next())
        } else {
            let unit = (r.next() >> 11) as f64 / (1u64 << 53) as f64;
            (unit - 0.5) * 10f64.powi(r.below(14) as i32 - 7)
        };
        if r.below(4) == 0 {
            format!("{x:e}")
        } else {
            format!("{x}")
        }
    }

    /// Digits around the edges of the fast paths: mantissas near 2^53 and 2^64, 19 and 20
    /// digits, powers of ten near 10^22, leading zeros; a point anywhere, maybe an exponent.
    fn edge(r: &mut Rng) -> String {
        let bases = [
            1u128 << 53,
            1 << 64,
            10u128.pow(19),
            10u128.pow(22),
            10u128.pow(23),
        ];
        let base = bases[r.below(bases.len())] as i128 + r.below(7) as i128 - 3;
        let mut digits = format!("{}{base}", "0".repeat(r.below(4)));
        if r.below(2) == 0 {
            digits = digits.trim_end_matches('0').to_owned();
        }
        digits.insert(r.below(digits.len() + 1), '.');
        if r.below(3) == 0 {
            digits += &format!("e{}", r.below(700) as i32 - 350);
        }
        digits
    }

    /// Digit soup: a sign, 0 to 25 digits (often leading zeros) on each side of an optional
    /// point, an optional exponent with or without digits.
    fn soup(r: &mut Rng) -> String {
        let mut s = r.pick(&["", "", "-", "+", "--"]).to_owned();
        s += &"0".repeat(r.below(3) * r.below(4));
        let int = r.below(26);
        s += &r.digits(int);
        if r.below(3) != 0 {
            s.push('.');
            let frac = r.below(26);
            s += &"0".repeat(r.below(2) * r.below(12));
            s += &r.digits(frac);
        }
        if r.below(4) == 0 {
            s += r.pick(&["e", "E"]);
            s += r.pick(&["", "-", "+"]);
            let n = r.below(4);
            s += &r.digits(n);
        }
        s
    }

    /// A random field: a number of one of the kinds above or a spelled-out special value, maybe
    /// with a stray character, with random spaces around.
    fn random_field(r: &mut Rng, pad: &[&str]) -> String {
        let mut s = match r.below(10) {
            0..=3 => shortest(r),
            4 | 5 => edge(r),
            6..=8 => soup(r),
            _ => {
                let word = r.pick(&["nan", "inf", "infinity", "", ".", "-", "1e", "1e+", "-.e1"]);
                let sign = r.pick(&["", "-", "+"]);
                let cased = word.chars().map(|c| match r.below(2) {
                    0 => c.to_ascii_uppercase(),
                    _ => c,
                });
                format!("{sign}{}", cased.collect::<String>())
            }
        };
        if r.below(10) == 0 {
            let stray = r.pick(&["x", "_", "\"", ".", "e", "-", "+", " ", "0x"]);
            s.insert_str(r.below(s.len() + 1), stray);
        }
        for _ in 0..r.below(3) * r.below(2) {
            s.insert_str(0, r.pick(pad));
            s.push_str(r.pick(pad));
        }
        s
    }

    /// Runs the fast path on a field followed by a delimiter, a line end or nothing, and checks
    /// it against [`reference`] and against the general path ([`field_value`]).
    fn check(field: &str, d: u8, after: &str) {
        let line = format!("{field}{after}");
        let fast = fast_number(line.as_bytes(), d);
        let want = reference(field);
        let general = field_value(field.as_bytes()).ok();
        assert_eq!(
            general.is_some(),
            want.is_some(),
            "general path on {field:?}"
        );
        if let (Some(g), Some(w)) = (general, want) {
            assert!(same(g, w), "general path on {field:?}: {g:?}, not {w:?}");
        }
        match (fast, want) {
            // Every unquoted number is taken, whole, with its value.
            (Some((x, n)), Some(w)) if n == field.len() => {
                assert!(same(x, w), "{field:?}: {x:?}, not {w:?}")
            }
            (None, Some(_)) => assert!(field.contains('"'), "{field:?} not taken"),
            (_, Some(_)) => panic!("{field:?} taken as {fast:?}"),
            // What is not a number may be read in part, but then must not end at a field's end,
            // so the record goes to the general path and its error.
            (Some((_, n)), None) => assert!(
                n < field.len()
                    && !matches!(line.as_bytes()[n], b'\n' | b'\r')
                    && line.as_bytes()[n] != d,
                "{field:?} taken as {fast:?}"
            ),
            (None, None) => {}
        }
    }

    #[test]
    fn fast_path_equals_str_parse_on_random_fields() {
        let mut r = Rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..300_000 {
            let (d, pad): (u8, &[&str]) = match r.below(4) {
                0 => (b'\t', &[" "]),
                1 => (b';', &[" ", "\t"]),
                _ => (b',', &[" ", "\t"]),
            };
            let field = random_field(&mut r, pad);
            let next = format!("{}1", char::from(d));
            let after = ["", "\n", "\r\n", "\r", &next][r.below(5)];
            check(&field, d, after);
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn sixteen_digits_equal_two_eights() {
        let mut r = Rng(0x1234_5678_9ABC_DEF1);
        for _ in 0..200_000 {
            let b: Vec<u8> = (0..16)
                .map(|_| match r.below(40) {
                    0 => r.next() as u8,
                    1 => b"/:.,e-"[r.below(6)],
                    _ => b'0' + r.below(10) as u8,
                })
                .collect();
            let want = eight_digits(&b[..8])
                .zip(eight_digits(&b[8..]))
                .map(|(a, c)| a * 100_000_000 + c);
            assert_eq!(sixteen_digits(&b), want, "{b:?}");
        }
        assert_eq!(
            sixteen_digits(b"9999999999999999"),
            Some(9_999_999_999_999_999)
        );
        assert_eq!(sixteen_digits(b"0000000000000001"), Some(1));
    }

    #[test]
    fn a_digit_run_reads_as_digit_by_digit() {
        let mut r = Rng(0x0F1E_2D3C_4B5A_6978);
        for _ in 0..300_000 {
            // A run of 0 to 24 digits, then anything, padded to 32 bytes or more (or not).
            let run = r.below(25);
            let mut b: Vec<u8> = (0..run).map(|_| b'0' + r.below(10) as u8).collect();
            let tail = r.below(40);
            b.extend((0..tail).map(|_| match r.below(4) {
                0 => r.next() as u8,
                1 => b"/:.,e-\n"[r.below(7)],
                _ => b'0' + r.below(10) as u8,
            }));
            let got = digit_run(&b, 0);
            let (mant, end) = digits(&b, 0, 0);
            match got {
                Some((value, n)) => {
                    assert!(b.len() >= 32 && end <= 19, "{b:?}");
                    assert_eq!((value, n), (mant, end), "{b:?}");
                }
                None => assert!(
                    b.len() < 32 || end > 19 || cfg!(not(target_arch = "x86_64")),
                    "{b:?}"
                ),
            }
        }
        for (k, p) in POW10_U64.iter().enumerate().take(17) {
            assert_eq!(exact_div_pow10(p * 1801, k), 1801);
        }
    }

    #[test]
    fn division_by_powers_of_five_equals_u128_division() {
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        for i in 0..1_000_000 {
            let k = i % POW5.len();
            let (d, _) = POW5_NORMALIZED[k];
            let hi = match i % 3 {
                0 => d - 1 - r.next() % 4,
                _ => r.next() % d,
            };
            let lo = r.next();
            let n = u128::from(hi) << 64 | u128::from(lo);
            let want = ((n / u128::from(d)) as u64, (n % u128::from(d)) as u64);
            assert_eq!(div_by_pow5(hi, lo, k), want, "{hi} {lo} {k}");
        }
    }

    #[test]
    fn fast_path_equals_str_parse_at_the_edges() {
        let cases = [
            "0.1",
            "-0.0",
            "0",
            "-0",
            "+0",
            ".5",
            "5.",
            "-.5",
            "-7.25",
            "123456789012345",
            "0.000000000000001",
            "9007199254740992",
            "9007199254740993",
            "9007199254740994",
            "9007199254740995",
            "0.9007199254740993",
            "900719925474099.3",
            "9.007199254740993e-5",
            "1234567890123456789",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "9999999999999999999",
            "0.00012345678901234567",
            "1e22",
            "1e23",
            "9007199254740991e22",
            "9007199254740993e-22",
            "1e-22",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "2.2250738585072014e-308",
            "2.2250738585072011e-308",
            "4.9e-324",
            "2.4703282292062328e-324",
            "1e-400",
            "1e400",
            "0e999999999999999999999",
            "-0.2397376218998031",
            "0.25678630048217843",
            "0.049796890161907026",
            "-2.9098938048853356",
            "1.0000000000000002",
            "0.30000000000000004",
            "1.5e-3",
            "1.5E+3",
            "-INF",
            "+Infinity",
            "nAn",
            " 2.5\t",
            "",
            " ",
            ".",
            "-",
            "+",
            "1e",
            "1e+",
            "1e-",
            "e5",
            "1.2.3",
            "1-2",
            "0x10",
            "1_000",
            "\"2\"",
            "infinit",
        ];
        for c in cases {
            for after in ["", ",", "\n", "\r\n"] {
                check(c, b',', after);
            }
        }
    }
}
