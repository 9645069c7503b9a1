//! Exact, order-free sums of `f32` and `f64` values, rounded once.
//!
//! [`ExactSum`] keeps the exact sum of every finite value added as a signed fixed-point integer in
//! units of 2^-1074 (the smallest `f64` subnormal, so every finite `f32` and `f64` is a whole
//! number of units), plus three flags for NaN, +∞ and −∞. Integer addition is associative and
//! commutative, so the state depends only on the multiset of values added: any chunking, order,
//! thread count or merge tree gives the same state. Values are read out rounded once, to nearest
//! with ties to even, to `f64`, `f32` or `f16`, as a sum, a mean (÷ a count) or a ratio of two
//! sums (Σwℓ ÷ Σw).
//!
//! # How a chunk is added fast
//!
//! [`ExactSum::add_f32`] and [`ExactSum::add_f64`] take blocks of 2048 values. A first pass finds
//! the largest and the smallest nonzero magnitude (integer max/min over the bit patterns). From
//! them follows how many error-free splitting levels make plain `f64` sums of the block exact:
//! each value is split into a part on a coarse grid and a remainder (`q = (x + σ) − σ`,
//! `r = x − q`, both exact for a power-of-two-based `σ` well above the block's magnitudes), and
//! the parts of each level are summed in `f64` lanes, where the grid and the block length bound
//! every partial sum below 2^53 grid units, so no addition rounds. f32 data spanning up to 17
//! binades need no split, up to 59 binades one; f64 data up to 30 binades one split, up to 72
//! two. The few exact level sums of each block then go into the integer accumulator. Blocks
//! that hold ±∞ or NaN, or span more binades, go element by element into the integer
//! accumulator (a few nanoseconds an element). Both paths are exact, so which one a block takes
//! never shows in the state.
//!
//! # Many small sums
//!
//! The `--by` groups of a chunk are many small sums of values that arrive interleaved. A
//! [`Grid`] made for the chunk (one pass over its magnitudes, as above) puts every value on one
//! fixed-point grid on which any subset sums in an `i128`; each group then costs an integer
//! addition a value, and its sum goes into its accumulator once ([`ExactSum::add_units`]). Up to
//! four limbs are held inline, so a group's accumulator is one 48-byte value with no allocation.
//!
//! # Zeros, infinities, NaN
//!
//! An exact zero sum reads out as `+0.0`, also when only `-0.0` values were added (IEEE addition
//! would give `-0.0` for those). A nonzero sum too small for the target type rounds to a zero of
//! its sign. NaN anywhere, or both +∞ and −∞, give NaN; otherwise an infinity added gives that
//! infinity. Finite sums never overflow in the accumulator; they round to ±∞ only when read out
//! as a sum beyond the type's range, while a mean of them is finite.
//!
//! # Limits
//!
//! The accumulator holds any sum of magnitude below 2^1230, i.e. the sum of 2^64 values of
//! magnitude up to `f64::MAX` with room for 2^140 merges of such sums. Parsed states are limited
//! to magnitudes below 2^1088.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Number of 32-bit digit positions of the fixed-point integer: 72 · 32 = 2304 bits from 2^-1074.
const NLIMBS: usize = 72;
/// A limb may absorb this many additions of a 32-bit digit before carries must be propagated.
const PENDING_LIMIT: u32 = 1 << 28;
/// Block length of the fast path, and its base-2 logarithm (bounds every partial sum).
const BLOCK: usize = 2048;
const BLOCK_LOG2: i32 = 11;
/// f64 lanes per splitting level.
const LANES: usize = 8;
/// Most splitting levels the fast path uses.
const MAX_LEVELS: usize = 2;

const FLAG_NAN: u8 = 1;
const FLAG_POS_INF: u8 = 2;
const FLAG_NEG_INF: u8 = 4;

/// Largest binary exponent a parsed state may have: magnitudes below 2^1088.
const PARSE_MAX_EXP: i64 = 1087;
/// Longest canonical text a state can have, in bytes (sign, `0x1.`, 580 hex digits, exponent,
/// flags); longer input is refused before any other work.
const MAX_TEXT_LEN: usize = 640;

/// An exact sum of `f32`/`f64` values whose state depends only on the multiset of values added.
///
/// Equality, hashing, [`Display`](fmt::Display) and every read-out depend only on that multiset:
/// the internal carry-save layout may differ between two equal states, the canonical state may
/// not. The caller counts elements itself.
///
/// ```
/// use huber_core::exact::ExactSum;
/// let mut a = ExactSum::default();
/// a.add_f64(&[1.0, 2f64.powi(-53)]);
/// let mut b = ExactSum::default();
/// b.push_f64(2f64.powi(-200));
/// a.merge(&b);
/// assert_eq!(a.to_f64(), 1.0000000000000002);
/// assert_eq!(a.to_string().parse::<ExactSum>().unwrap(), a);
/// ```
#[derive(Clone, Default)]
pub struct ExactSum {
    /// Carry-save limbs: the finite sum is Σ limbs[i] · 2^(32·(base + i) − 1074). Every limb but
    /// the last is in [0, 2^32) right after [`ExactSum::normalize`]; the last carries the sign.
    limbs: Limbs,
    /// Global index of `limbs[0]`.
    base: u8,
    /// Digit additions since the last normalisation.
    pending: u32,
    /// NaN / +∞ / −∞ seen.
    flags: u8,
}

/// Limbs held in the accumulator itself: a typical sum (a group's, a cell's, a chunk's) needs
/// 3 or 4, so it costs no allocation and no second cache line.
const INLINE: usize = 4;

/// The limbs of an [`ExactSum`]: up to [`INLINE`] in place, more on the heap.
#[derive(Clone)]
enum Limbs {
    Inline { len: u8, digits: [i64; INLINE] },
    Heap(Vec<i64>),
}

impl Default for Limbs {
    fn default() -> Limbs {
        Limbs::Inline {
            len: 0,
            digits: [0; INLINE],
        }
    }
}

impl Limbs {
    /// `n` zero limbs.
    fn zeros(n: usize) -> Limbs {
        if n <= INLINE {
            Limbs::Inline {
                len: n as u8,
                digits: [0; INLINE],
            }
        } else {
            Limbs::Heap(vec![0; n])
        }
    }

    /// Appends a limb, moving them to the heap when they no longer fit in place.
    fn push(&mut self, limb: i64) {
        match self {
            Limbs::Inline { len, digits } if (*len as usize) < INLINE => {
                digits[*len as usize] = limb;
                *len += 1;
            }
            Limbs::Inline { digits, .. } => {
                let mut heap = Vec::with_capacity(2 * INLINE);
                heap.extend_from_slice(digits);
                heap.push(limb);
                *self = Limbs::Heap(heap);
            }
            Limbs::Heap(v) => v.push(limb),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Limbs::Inline { .. } => 0,
            Limbs::Heap(v) => v.capacity() * std::mem::size_of::<i64>(),
        }
    }
}

impl std::ops::Deref for Limbs {
    type Target = [i64];
    #[inline(always)]
    fn deref(&self) -> &[i64] {
        match self {
            Limbs::Inline { len, digits } => &digits[..*len as usize],
            Limbs::Heap(v) => v,
        }
    }
}

impl std::ops::DerefMut for Limbs {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [i64] {
        match self {
            Limbs::Inline { len, digits } => &mut digits[..*len as usize],
            Limbs::Heap(v) => v,
        }
    }
}

/// Why a text is not the canonical spelling of an [`ExactSum`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseExactSumError {
    /// Longer than any canonical state (the limit is checked before anything else).
    TooLong {
        /// The length of the input, in bytes.
        len: usize,
    },
    /// Not of the form `0`, `[-]0x1[.hex]p±exp`, followed by `;nan`, `;+inf`, `;-inf` flags.
    Syntax {
        /// Byte offset of the first character that does not fit.
        at: usize,
    },
    /// A valid number but not its canonical spelling (trailing zero hex digit, uppercase,
    /// leading zeros, `p-0`, flags out of order or repeated, ...).
    NotCanonical,
    /// A value outside the accumulator's range: below the 2^-1074 grid or of magnitude 2^1088
    /// or more.
    OutOfRange,
}

impl fmt::Display for ParseExactSumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(f, "exact sum state of {len} bytes is too long"),
            Self::Syntax { at } => write!(f, "exact sum state has a syntax error at byte {at}"),
            Self::NotCanonical => f.write_str("exact sum state is not in canonical form"),
            Self::OutOfRange => f.write_str("exact sum state is out of range"),
        }
    }
}

impl std::error::Error for ParseExactSumError {}

/// A binary floating-point format to round to.
struct Format {
    /// Significand bits, with the hidden bit.
    p: u32,
    /// Exponent of the smallest subnormal.
    emin: i64,
    /// Values of magnitude 2^emax or more overflow.
    emax: i64,
    /// Total width in bits.
    width: u32,
    /// Bit pattern of the quiet NaN returned.
    nan: u64,
}

const F64: Format = Format {
    p: 53,
    emin: -1074,
    emax: 1024,
    width: 64,
    nan: 0x7ff8_0000_0000_0000,
};
const F32: Format = Format {
    p: 24,
    emin: -149,
    emax: 128,
    width: 32,
    nan: 0x7fc0_0000,
};
const F16: Format = Format {
    p: 11,
    emin: -24,
    emax: 16,
    width: 16,
    nan: 0x7e00,
};

impl Format {
    fn inf(&self, neg: bool) -> u64 {
        let exp_bits = self.width - self.p;
        (((1u64 << exp_bits) - 1) << (self.p - 1)) | self.sign(neg)
    }

    fn zero(&self, neg: bool) -> u64 {
        self.sign(neg)
    }

    fn sign(&self, neg: bool) -> u64 {
        (neg as u64) << (self.width - 1)
    }
}

/// What a state reads out as, before rounding.
enum Class {
    Nan,
    Inf(bool),
    Finite,
}

impl ExactSum {
    /// Adds a slice of `f32` values (the hot path; any length, best in chunks of thousands).
    pub fn add_f32(&mut self, xs: &[f32]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, the one feature `add_f32_avx512` is compiled for.
            unsafe { self.add_f32_avx512(xs) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the one feature `add_f32_avx2` is compiled for.
            unsafe { self.add_f32_avx2(xs) };
            return;
        }
        self.add_f32_portable(xs);
    }

    /// Adds a slice of `f64` values (the hot path; any length, best in chunks of thousands).
    pub fn add_f64(&mut self, xs: &[f64]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, the one feature `add_f64_avx512` is compiled for.
            unsafe { self.add_f64_avx512(xs) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, the one feature `add_f64_avx2` is compiled for.
            unsafe { self.add_f64_avx2(xs) };
            return;
        }
        self.add_f64_portable(xs);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn add_f32_avx512(&mut self, xs: &[f32]) {
        self.add_f32_impl::<2>(xs);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn add_f32_avx2(&mut self, xs: &[f32]) {
        self.add_f32_impl::<1>(xs);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn add_f64_avx512(&mut self, xs: &[f64]) {
        self.add_f64_impl::<2>(xs);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn add_f64_avx2(&mut self, xs: &[f64]) {
        self.add_f64_impl::<1>(xs);
    }

    /// [`ExactSum::add_f32`] in whatever instructions the caller is compiled for.
    fn add_f32_portable(&mut self, xs: &[f32]) {
        self.add_f32_impl::<0>(xs);
    }

    /// [`ExactSum::add_f64`] in whatever instructions the caller is compiled for.
    fn add_f64_portable(&mut self, xs: &[f64]) {
        self.add_f64_impl::<0>(xs);
    }

    /// The block loop; `SIMD` (only from the AVX2 entry) sums blocks with AVX2 intrinsics.
    #[inline(always)]
    fn add_f32_impl<const SIMD: u8>(&mut self, xs: &[f32]) {
        for block in xs.chunks(BLOCK) {
            let (max_bits, min_bits) = range::<f32, SIMD>(block);
            if min_bits == 0 {
                continue; // all zeros
            }
            if max_bits >= 0x7f80_0000 {
                block.iter().for_each(|&x| self.push_f32(x));
                continue;
            }
            // |x| < 2^hi for every x; every x is a multiple of 2^lo.
            let hi = (max_bits >> 23).max(1) as i32 - 126;
            let lo = (min_bits >> 23).max(1) as i32 - 150;
            match split_plan(hi, lo) {
                Some((0, _)) => self.add_levels::<f32, 0, SIMD>(block, [0.0; MAX_LEVELS]),
                Some((1, s)) => self.add_levels::<f32, 1, SIMD>(block, s),
                Some((_, s)) => self.add_levels::<f32, 2, SIMD>(block, s),
                None => block.iter().for_each(|&x| self.push_f32(x)),
            }
        }
    }

    /// [`ExactSum::add_f64_impl`] for `f64`.
    #[inline(always)]
    fn add_f64_impl<const SIMD: u8>(&mut self, xs: &[f64]) {
        for block in xs.chunks(BLOCK) {
            let (max_bits, min_bits) = range::<f64, SIMD>(block);
            if min_bits == 0 {
                continue;
            }
            if max_bits >= 0x7ff0_0000_0000_0000 {
                block.iter().for_each(|&x| self.push_f64(x));
                continue;
            }
            let hi = (max_bits >> 52).max(1) as i32 - 1022;
            let lo = (min_bits >> 52).max(1) as i32 - 1075;
            match split_plan(hi, lo) {
                Some((0, _)) => self.add_levels::<f64, 0, SIMD>(block, [0.0; MAX_LEVELS]),
                Some((1, s)) => self.add_levels::<f64, 1, SIMD>(block, s),
                Some((_, s)) => self.add_levels::<f64, 2, SIMD>(block, s),
                None => block.iter().for_each(|&x| self.push_f64(x)),
            }
        }
    }

    /// Sums a block (at most [`BLOCK`] finite values) with `K` splitting levels whose constants
    /// [`split_plan`] proved make every `f64` addition exact, and adds the level sums.
    #[inline(always)]
    fn add_levels<T: Elem, const K: usize, const SIMD: u8>(
        &mut self,
        block: &[T],
        sigma: [f64; MAX_LEVELS],
    ) {
        #[cfg(target_arch = "x86_64")]
        if SIMD == 2 {
            // SAFETY: `SIMD` is 2 only on the path entered after detecting AVX-512F.
            let acc = unsafe { T::split_avx512::<K>(block, sigma) };
            return self.add_level_sums::<K>(&acc);
        }
        #[cfg(target_arch = "x86_64")]
        if SIMD == 1 {
            // SAFETY: `SIMD` is 1 only on the path entered after detecting AVX2.
            let acc = unsafe { T::split_avx2::<K>(block, sigma) };
            return self.add_level_sums::<K>(&acc);
        }
        let mut acc = [[0.0f64; LANES]; MAX_LEVELS + 1];
        let [a0, a1, a2] = &mut acc;
        let mut it = block.chunks_exact(LANES);
        for c in &mut it {
            split_row::<T, K>(a0, a1, a2, c, sigma);
        }
        let rest = it.remainder();
        if !rest.is_empty() {
            // Zeros pad the last lanes: they split into zeros.
            let mut c = [T::ZERO; LANES];
            c[..rest.len()].copy_from_slice(rest);
            split_row::<T, K>(a0, a1, a2, &c, sigma);
        }
        self.add_level_sums::<K>(&acc);
    }

    #[inline(always)]
    fn add_level_sums<const K: usize>(&mut self, acc: &[[f64; LANES]; MAX_LEVELS + 1]) {
        for level in acc.iter().take(K + 1) {
            // Exact: the bound on the block's partial sums holds for any grouping of them.
            let total: f64 = level.iter().sum();
            self.add_finite_f64(total);
        }
    }

    /// Adds one `f32` value (for interleaved per-group sums; a few nanoseconds).
    #[inline]
    pub fn push_f32(&mut self, x: f32) {
        let bits = x.to_bits();
        let exp = (bits >> 23) & 0xff;
        let frac = bits & 0x7f_ffff;
        let neg = bits >> 31 != 0;
        if exp == 0xff {
            self.flag_special(frac != 0, neg);
            return;
        }
        let (mant, pos) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | 0x80_0000, exp - 1)
        };
        // One f32 unit, 2^-149, is 2^925 accumulator units.
        self.add_bits(mant as u64, pos + 925, neg);
    }

    /// Adds one `f64` value (for interleaved per-group sums; a few nanoseconds).
    #[inline]
    pub fn push_f64(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        if exp == 0x7ff {
            self.flag_special(bits & 0xf_ffff_ffff_ffff != 0, bits >> 63 != 0);
            return;
        }
        self.add_finite_f64(x);
    }

    #[inline(always)]
    fn flag_special(&mut self, nan: bool, neg: bool) {
        self.flags |= if nan {
            FLAG_NAN
        } else if neg {
            FLAG_NEG_INF
        } else {
            FLAG_POS_INF
        };
    }

    /// Adds a finite `f64`.
    #[inline(always)]
    fn add_finite_f64(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & 0xf_ffff_ffff_ffff;
        let (mant, pos) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | 1 << 52, exp - 1)
        };
        self.add_bits(mant, pos, bits >> 63 != 0);
    }

    /// Adds ±`mant` · 2^(`pos` − 1074), `mant` < 2^63.
    #[inline(always)]
    fn add_bits(&mut self, mant: u64, pos: u32, neg: bool) {
        if mant == 0 {
            return;
        }
        let idx = (pos >> 5) as usize;
        let wide = (mant as u128) << (pos & 31);
        let digits = [
            (wide as u32) as i64,
            ((wide >> 32) as u32) as i64,
            (wide >> 64) as i64,
        ];
        let base = self.base as usize;
        if idx < base || idx + 3 > base + self.limbs.len() {
            self.cover(idx, idx + 3);
        }
        let at = idx - self.base as usize;
        let limbs = &mut self.limbs[at..at + 3];
        for (limb, d) in limbs.iter_mut().zip(digits) {
            *limb += if neg { -d } else { d };
        }
        self.pending += 1;
        if self.pending >= PENDING_LIMIT {
            self.normalize();
        }
    }

    /// Widens the window of limbs to cover global indices `lo..hi`: within the limbs held
    /// inline, as far up as they reach; beyond, with a limb to spare on each side that grows
    /// (within `0..NLIMBS`).
    #[cold]
    fn cover(&mut self, lo: usize, hi: usize) {
        let (old_lo, old_hi) = (self.base as usize, self.base as usize + self.limbs.len());
        let (inline_lo, inline_hi) = match self.limbs.is_empty() {
            true => (lo, hi),
            false => (lo.min(old_lo), hi.max(old_hi)),
        };
        let (new_lo, new_hi) = if inline_hi - inline_lo <= INLINE {
            let top = (inline_lo + INLINE).min(NLIMBS);
            (top - INLINE, top)
        } else if self.limbs.is_empty() {
            (lo.saturating_sub(1), (hi + 1).min(NLIMBS))
        } else {
            (
                if lo < old_lo {
                    lo.saturating_sub(1)
                } else {
                    old_lo
                },
                if hi > old_hi {
                    (hi + 1).min(NLIMBS)
                } else {
                    old_hi
                },
            )
        };
        let mut limbs = Limbs::zeros(new_hi - new_lo);
        limbs[old_lo.max(new_lo) - new_lo..][..self.limbs.len()].copy_from_slice(&self.limbs);
        self.limbs = limbs;
        self.base = new_lo as u8;
    }

    /// Propagates carries: every limb but the last into [0, 2^32), the last signed and below
    /// 2^31 in magnitude unless the window already reaches the top of the range.
    fn normalize(&mut self) {
        self.pending = 0;
        let Some(last) = self.limbs.len().checked_sub(1) else {
            return;
        };
        let mut carry = 0i64;
        for limb in &mut self.limbs[..last] {
            let t = *limb + carry;
            *limb = t & 0xffff_ffff;
            carry = t >> 32;
        }
        self.limbs[last] += carry;
        // A top limb that outgrew 2^31 spills into a new one, so that limbs keep their headroom.
        loop {
            let top = self.limbs.len() - 1;
            let t = self.limbs[top];
            if (-(1 << 31)..1 << 31).contains(&t) || self.base as usize + top + 1 >= NLIMBS {
                break;
            }
            self.limbs[top] = t & 0xffff_ffff;
            self.limbs.push(t >> 32);
        }
    }

    /// Adds another accumulator's values: `a.merge(&b)` has the state of one accumulator that
    /// was given the values of both, in any order.
    pub fn merge(&mut self, other: &ExactSum) {
        self.flags |= other.flags;
        if other.limbs.is_empty() {
            return;
        }
        if self.pending > 0 {
            self.normalize();
        }
        let lo = other.base as usize;
        let hi = (lo + other.limbs.len() + 1).min(NLIMBS);
        let base = self.base as usize;
        if self.limbs.is_empty() || lo < base || hi > base + self.limbs.len() {
            self.cover(lo, hi);
        }
        // Other's limbs normalised on the fly: each digit below 2^32, the carry out of its top
        // limb goes into the limb above.
        let at = lo - self.base as usize;
        let mut carry = 0i64;
        for (i, &limb) in other.limbs.iter().enumerate() {
            let t = limb + carry;
            self.limbs[at + i] += t & 0xffff_ffff;
            carry = t >> 32;
        }
        let top = (at + other.limbs.len()).min(self.limbs.len() - 1);
        if top == at + other.limbs.len() {
            self.limbs[top] += carry;
        } else {
            self.limbs[top] += carry << 32;
        }
        self.normalize();
    }

    /// The finite part as a sign and a magnitude in units of 2^-1074, 64-bit words from bit 0:
    /// one value, one spelling (for equality and hashing).
    fn magnitude(&self) -> (bool, Vec<u64>) {
        let (neg, words, unit) = self.magnitude_window();
        if words.is_empty() {
            return (false, words);
        }
        let below = ((unit + 1074) / 64) as usize;
        let mut all = vec![0u64; below];
        all.extend(words);
        (neg, all)
    }

    /// The finite part as a sign, a magnitude in 64-bit words and the exponent of the words'
    /// lowest bit: the words of the window's limbs only (the read-out of a sum costs its few
    /// limbs, not the 72 of the whole range). The magnitude has no zero word on top.
    fn magnitude_window(&self) -> (bool, Vec<u64>, i64) {
        let (base, len) = (self.base as usize, self.limbs.len());
        // From an even limb, so that words pair digits; two digits above the window take the
        // carries out of its top limb (below 2^63 in magnitude).
        let start = base & !1;
        let end = (base + len + 3).min(NLIMBS);
        let end = end + (end - start) % 2;
        let carried = |negate: bool| {
            let mut digits = [0u32; NLIMBS];
            let mut carry = 0i128;
            for (i, d) in digits[..end - start].iter_mut().enumerate() {
                let limb = self.limbs.get((start + i).wrapping_sub(base)).copied();
                let limb = limb.unwrap_or(0);
                let t = if negate { -limb } else { limb } as i128 + carry;
                *d = (t & 0xffff_ffff) as u32;
                carry = t >> 32;
            }
            (carry < 0, digits)
        };
        let (mut neg, mut digits) = carried(false);
        if neg {
            (_, digits) = carried(true);
        }
        let mut words: Vec<u64> = digits[..end - start]
            .chunks_exact(2)
            .map(|d| d[0] as u64 | (d[1] as u64) << 32)
            .collect();
        trim(&mut words);
        if words.is_empty() {
            neg = false;
        }
        (neg, words, 32 * start as i64 - 1074)
    }

    fn class(&self) -> Class {
        let f = self.flags;
        if f & FLAG_NAN != 0 || f & (FLAG_POS_INF | FLAG_NEG_INF) == FLAG_POS_INF | FLAG_NEG_INF {
            Class::Nan
        } else if f & FLAG_POS_INF != 0 {
            Class::Inf(false)
        } else if f & FLAG_NEG_INF != 0 {
            Class::Inf(true)
        } else {
            Class::Finite
        }
    }

    fn round_sum(&self, f: &Format) -> u64 {
        match self.class() {
            Class::Nan => f.nan,
            Class::Inf(neg) => f.inf(neg),
            Class::Finite => {
                let (neg, mag, unit) = self.magnitude_window();
                round(neg, &mag, unit, false, f)
            }
        }
    }

    fn round_div_count(&self, n: u64, f: &Format) -> u64 {
        if n == 0 {
            return f.nan;
        }
        match self.class() {
            Class::Nan => f.nan,
            Class::Inf(neg) => f.inf(neg),
            Class::Finite => {
                let (neg, mag, unit) = self.magnitude_window();
                quick_div_count(neg, &mag, unit, n, f)
                    .unwrap_or_else(|| round_quotient(neg, &mag, &[n], unit, f))
            }
        }
    }

    fn round_ratio(&self, den: &ExactSum, f: &Format) -> u64 {
        let (a, b) = (self.class(), den.class());
        match (a, b) {
            (Class::Nan, _) | (_, Class::Nan) | (Class::Inf(_), Class::Inf(_)) => f.nan,
            (Class::Inf(na), Class::Finite) => f.inf(na ^ den.magnitude_window().0),
            (Class::Finite, Class::Inf(nb)) => f.zero(self.magnitude_window().0 ^ nb),
            (Class::Finite, Class::Finite) => {
                let (na, ma, ua) = self.magnitude_window();
                let (nb, mb, ub) = den.magnitude_window();
                match (ma.is_empty(), mb.is_empty()) {
                    (true, true) => f.nan,
                    (false, true) => f.inf(na),
                    (true, false) => f.zero(nb),
                    (false, false) => round_quotient(na ^ nb, &ma, &mb, ua - ub, f),
                }
            }
        }
    }

    /// The sum rounded once to `f64` (to nearest, ties to even).
    pub fn to_f64(&self) -> f64 {
        f64::from_bits(self.round_sum(&F64))
    }

    /// The sum rounded once to `f32`, directly from the exact value.
    pub fn to_f32(&self) -> f32 {
        f32::from_bits(self.round_sum(&F32) as u32)
    }

    /// The sum rounded once to IEEE binary16, as its bit pattern.
    pub fn to_f16_bits(&self) -> u16 {
        self.round_sum(&F16) as u16
    }

    /// The sum divided by `n`, rounded once to `f64`; NaN when `n` is 0. The mean of values whose
    /// sum exceeds `f64`'s range is still finite.
    pub fn div_count_f64(&self, n: u64) -> f64 {
        f64::from_bits(self.round_div_count(n, &F64))
    }

    /// The sum divided by `n`, rounded once to `f32`; NaN when `n` is 0.
    pub fn div_count_f32(&self, n: u64) -> f32 {
        f32::from_bits(self.round_div_count(n, &F32) as u32)
    }

    /// The sum divided by `n`, rounded once to binary16, as its bit pattern; NaN when `n` is 0.
    pub fn div_count_f16_bits(&self, n: u64) -> u16 {
        self.round_div_count(n, &F16) as u16
    }

    /// This sum divided by `den`'s, rounded once to `f64` (Σwℓ ÷ Σw). Zeros, infinities and NaN
    /// act as in IEEE division of the two read-out values, an exact zero being `+0.0`:
    /// 0 ÷ 0 and ∞ ÷ ∞ are NaN, x ÷ 0 is ±∞, x ÷ ∞ is ±0.
    pub fn ratio_f64(&self, den: &ExactSum) -> f64 {
        f64::from_bits(self.round_ratio(den, &F64))
    }

    /// [`ExactSum::ratio_f64`] rounded once to `f32`.
    pub fn ratio_f32(&self, den: &ExactSum) -> f32 {
        f32::from_bits(self.round_ratio(den, &F32) as u32)
    }

    /// [`ExactSum::ratio_f64`] rounded once to binary16, as its bit pattern.
    pub fn ratio_f16_bits(&self, den: &ExactSum) -> u16 {
        self.round_ratio(den, &F16) as u16
    }

    /// Whether a NaN was added.
    pub fn has_nan(&self) -> bool {
        self.flags & FLAG_NAN != 0
    }

    /// Whether +∞ was added.
    pub fn has_pos_inf(&self) -> bool {
        self.flags & FLAG_POS_INF != 0
    }

    /// Whether −∞ was added.
    pub fn has_neg_inf(&self) -> bool {
        self.flags & FLAG_NEG_INF != 0
    }

    /// Bytes of heap memory held (the limbs), for memory budgets of many sums.
    pub fn heap_bytes(&self) -> usize {
        self.limbs.heap_bytes()
    }

    /// Adds `units` units of `grid`, exactly: a sum made by [`Grid::units_f32`] or
    /// [`Grid::units_f64`].
    pub fn add_units(&mut self, units: i128, grid: Grid) {
        if units == 0 {
            return;
        }
        // Trailing zero bits dropped: a group's sum often lies on a coarser grid than the
        // chunk's, and then takes fewer limbs.
        let mag = units.unsigned_abs();
        let tz = mag.trailing_zeros();
        let (mag, pos) = (mag >> tz, grid.lo + tz);
        let (idx, shift) = ((pos >> 5) as usize, pos & 31);
        let low = mag << shift;
        let high = mag.checked_shr(128 - shift).unwrap_or(0) as i64;
        let digits = [
            (low as u32) as i64,
            ((low >> 32) as u32) as i64,
            ((low >> 64) as u32) as i64,
            ((low >> 96) as u32) as i64,
            high,
        ];
        let n = (128 - mag.leading_zeros() + shift).div_ceil(32) as usize;
        let base = self.base as usize;
        if idx < base || idx + n > base + self.limbs.len() {
            self.cover(idx, idx + n);
        }
        let at = idx - self.base as usize;
        let neg = units < 0;
        for (limb, &d) in self.limbs[at..at + n].iter_mut().zip(&digits) {
            *limb += if neg { -d } else { d };
        }
        self.pending += 1;
        if self.pending >= PENDING_LIMIT {
            self.normalize();
        }
    }
}

/// Most values a [`Grid`] is made for: any subset of them sums in an `i128` of its units.
pub const GRID_MAX_LEN: usize = 1 << 16;

/// A fixed-point grid made for one slice of finite values (at most [`GRID_MAX_LEN`]): each of
/// them is a whole number of the grid's units, and the sum of any subset of them, in units, fits
/// an `i128`. Summing the many small subsets of a chunk that `--by` groups or `--axis` cells make
/// costs then an integer addition a value, and each subset's sum goes into its [`ExactSum`] once
/// ([`ExactSum::add_units`]), exactly: the state is the one adding the values one by one makes.
///
/// ```
/// use huber_core::exact::{ExactSum, Grid};
/// let xs = [1.0, 2f64.powi(-20), -3.5, 1e10];
/// let grid = Grid::of_f64(&xs).unwrap();
/// let units: i128 = xs.iter().map(|&x| grid.units_f64(x)).sum();
/// let mut a = ExactSum::default();
/// a.add_units(units, grid);
/// let mut b = ExactSum::default();
/// b.add_f64(&xs);
/// assert_eq!(a, b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    /// The unit is 2^(`lo` − 1074).
    lo: u32,
}

impl Grid {
    /// The grid of `xs`, or `None` when they hold ±∞ or NaN, are more than [`GRID_MAX_LEN`], or
    /// span more binades than an `i128` sum of them allows: for 2^14 values, 60 binades of `f64`
    /// or 89 of `f32`.
    pub fn of_f64(xs: &[f64]) -> Option<Grid> {
        let (max, min) = dispatched_range(xs);
        if max >= 0x7ff0_0000_0000_0000 {
            return None;
        }
        // Bit positions (in units of 2^-1074) of the lowest significand bit.
        let position = |bits: u64| ((bits >> 52) as u32).max(1) - 1;
        Grid::new(xs.len(), position(max), position(min), 53)
    }

    /// [`Grid::of_f64`] for `f32` values.
    pub fn of_f32(xs: &[f32]) -> Option<Grid> {
        let (max, min) = dispatched_range(xs);
        if max >= 0x7f80_0000 {
            return None;
        }
        let position = |bits: u64| ((bits >> 23) as u32).max(1) - 1 + F32_POSITION;
        Grid::new(xs.len(), position(max), position(min), 24)
    }

    /// The grid of `len` values whose lowest significand bits lie at positions `lo..=top`, of
    /// `digits`-bit significands: each is below 2^(top + digits − lo) units, so `len` of them sum
    /// below 2^127 when `top + digits − lo + ⌈log2 len⌉ ≤ 127`.
    fn new(len: usize, top: u32, lo: u32, digits: u32) -> Option<Grid> {
        if len > GRID_MAX_LEN {
            return None;
        }
        let log_len = usize::BITS - len.saturating_sub(1).leading_zeros();
        (top - lo + digits + log_len <= 127).then_some(Grid { lo })
    }

    /// `x` in units of the grid, which must be one made for a slice holding `x` (or 0).
    #[inline(always)]
    pub fn units_f64(self, x: f64) -> i128 {
        let bits = x.to_bits();
        let exp = (bits >> 52) as u32 & 0x7ff;
        let mant = bits & 0xf_ffff_ffff_ffff | u64::from(exp != 0) << 52;
        // A zero's shift may wrap: it shifts nothing.
        let v = (mant as i128).wrapping_shl((exp.max(1) - 1).wrapping_sub(self.lo));
        let sign = (bits as i64 >> 63) as i128;
        (v ^ sign) - sign
    }

    /// [`Grid::units_f64`] for `f32` values.
    #[inline(always)]
    pub fn units_f32(self, x: f32) -> i128 {
        let bits = x.to_bits();
        let exp = (bits >> 23) & 0xff;
        let mant = bits & 0x7f_ffff | u32::from(exp != 0) << 23;
        let shift = (exp.max(1) - 1 + F32_POSITION).wrapping_sub(self.lo);
        let v = (mant as i128).wrapping_shl(shift);
        let sign = (bits as i32 >> 31) as i128;
        (v ^ sign) - sign
    }
}

/// The accumulator position of `f32`'s unit 2^-149.
const F32_POSITION: u32 = 925;

/// [`Elem::range`] with the widest vector unit this CPU has.
fn dispatched_range<T: Elem>(xs: &[T]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { T::range_avx512(xs) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        return unsafe { T::range_avx2(xs) };
    }
    T::range(xs)
}

/// The largest magnitude bit pattern of a block and the smallest nonzero one (0 when all are
/// zero), in lanes so that the loop vectorises.
#[inline(always)]
fn magnitude_range_f32(block: &[f32]) -> (u32, u32) {
    let mut max = [0u32; 8];
    let mut min = [u32::MAX; 8];
    let mut it = block.chunks_exact(8);
    for c in &mut it {
        for ((max, min), x) in max.iter_mut().zip(&mut min).zip(c) {
            let m = x.to_bits() & 0x7fff_ffff;
            *max = (*max).max(m);
            // Zeros wrap to u32::MAX and never win the minimum.
            *min = (*min).min(m.wrapping_sub(1));
        }
    }
    for ((max, min), x) in max.iter_mut().zip(&mut min).zip(it.remainder()) {
        let m = x.to_bits() & 0x7fff_ffff;
        *max = (*max).max(m);
        *min = (*min).min(m.wrapping_sub(1));
    }
    let max = max.into_iter().max().unwrap_or(0);
    let min = min.into_iter().min().unwrap_or(u32::MAX).wrapping_add(1);
    (max, min)
}

/// [`magnitude_range_f32`] for `f64`.
#[inline(always)]
fn magnitude_range_f64(block: &[f64]) -> (u64, u64) {
    let mut max = [0u64; 4];
    let mut min = [u64::MAX; 4];
    let mut it = block.chunks_exact(4);
    for c in &mut it {
        for ((max, min), x) in max.iter_mut().zip(&mut min).zip(c) {
            let m = x.to_bits() & 0x7fff_ffff_ffff_ffff;
            *max = (*max).max(m);
            *min = (*min).min(m.wrapping_sub(1));
        }
    }
    for ((max, min), x) in max.iter_mut().zip(&mut min).zip(it.remainder()) {
        let m = x.to_bits() & 0x7fff_ffff_ffff_ffff;
        *max = (*max).max(m);
        *min = (*min).min(m.wrapping_sub(1));
    }
    let max = max.into_iter().max().unwrap_or(0);
    let min = min.into_iter().min().unwrap_or(u64::MAX).wrapping_add(1);
    (max, min)
}

/// The magnitude range of a block, with AVX2 intrinsics when `SIMD` (set only on the path
/// entered after detecting AVX2).
#[inline(always)]
fn range<T: Elem, const SIMD: u8>(block: &[T]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if SIMD == 2 {
        // SAFETY: `SIMD` is 2 only on the path entered after detecting AVX-512F.
        return unsafe { T::range_avx512(block) };
    }
    #[cfg(target_arch = "x86_64")]
    if SIMD == 1 {
        // SAFETY: `SIMD` is 1 only on the path entered after detecting AVX2.
        return unsafe { T::range_avx2(block) };
    }
    T::range(block)
}

/// For a block of at most 2^[`BLOCK_LOG2`] values with |x| < 2^`hi`, all multiples of 2^`lo`:
/// the number of splitting levels after which plain `f64` sums are exact, and their `σ`
/// constants; `None` when more than [`MAX_LEVELS`] would be needed.
///
/// Level j splits r (|r| < 2^h) with σ = 1.5 · 2^k, k = h + b − 1: `(r + σ) − σ` rounds r to
/// the grid 2^(k−52) of [2^k, 2^(k+1)), exactly, as |r| < 2^(k−1); n ≤ 2^b such parts sum to at
/// most 2^(h+b) = 2^53 grid units, so their `f64` sum is exact; the remainder is exact and below
/// half a grid unit, 2^(k−53), which bounds the next level: h' = h + b − 53. The last level is a
/// plain sum of multiples of 2^lo below 2^h each: exact when 2^(h+b) ≤ 2^(53+lo). One bit of
/// margin is kept in that test.
fn split_plan(hi: i32, lo: i32) -> Option<(usize, [f64; MAX_LEVELS])> {
    let mut sigma = [0.0; MAX_LEVELS];
    let mut h = hi;
    for levels in 0..=MAX_LEVELS {
        if h + BLOCK_LOG2 <= 52 + lo {
            return Some((levels, sigma));
        }
        if levels == MAX_LEVELS {
            break;
        }
        let k = h + BLOCK_LOG2 - 1;
        // σ and σ + r must be normal f64 values.
        if !(-1022..=1022).contains(&k) {
            return None;
        }
        sigma[levels] = 1.5 * pow2(k);
        h = k - 52;
    }
    None
}

fn pow2(k: i32) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// One row of [`LANES`] values through `K` splitting levels, into the level sums `a0..a2`.
#[inline(always)]
fn split_row<T: Elem, const K: usize>(
    a0: &mut [f64; LANES],
    a1: &mut [f64; LANES],
    a2: &mut [f64; LANES],
    c: &[T],
    [s0, s1]: [f64; MAX_LEVELS],
) {
    for (((x, a0), a1), a2) in c.iter().zip(a0).zip(a1).zip(a2) {
        let x = x.widen();
        match K {
            0 => *a0 += x,
            1 => {
                let q = (x + s0) - s0;
                *a0 += q;
                *a1 += x - q;
            }
            _ => {
                let q = (x + s0) - s0;
                let r = x - q;
                let q1 = (r + s1) - s1;
                *a0 += q;
                *a1 += q1;
                *a2 += r - q1;
            }
        }
    }
}

/// An element type of the hot path.
trait Elem: Copy {
    const ZERO: Self;
    fn widen(self) -> f64;
    /// Largest magnitude bit pattern and smallest nonzero one of a block.
    fn range(block: &[Self]) -> (u64, u64);
    /// [`Elem::range`] with AVX2 intrinsics.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx2(block: &[Self]) -> (u64, u64);
    /// [`Elem::range`] with AVX-512F intrinsics.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx512(block: &[Self]) -> (u64, u64);
    /// [`Elem::split_avx2`] with AVX-512F intrinsics.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx512<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1];
    /// The lane sums of [`split_row`] over a block, with AVX2 intrinsics.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx2<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1];
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    fn range(block: &[Self]) -> (u64, u64) {
        let (a, b) = magnitude_range_f32(block);
        (a as u64, b as u64)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx2(block: &[Self]) -> (u64, u64) {
        // SAFETY: the caller guarantees AVX2.
        let (a, b) = unsafe { avx2::range_f32(block) };
        (a as u64, b as u64)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx512(block: &[Self]) -> (u64, u64) {
        // SAFETY: the caller guarantees AVX-512F.
        let (a, b) = unsafe { avx512::range_f32(block) };
        (a as u64, b as u64)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx512<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { avx512::split_f32::<K>(block, sigma) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx2<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        // SAFETY: the caller guarantees AVX2.
        unsafe { avx2::split_f32::<K>(block, sigma) }
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    fn range(block: &[Self]) -> (u64, u64) {
        let (a, b) = magnitude_range_f64(block);
        (a, b)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx2(block: &[Self]) -> (u64, u64) {
        // SAFETY: the caller guarantees AVX2.
        let (a, b) = unsafe { avx2::range_f64(block) };
        (a, b)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn range_avx512(block: &[Self]) -> (u64, u64) {
        // SAFETY: the caller guarantees AVX-512F.
        let (a, b) = unsafe { avx512::range_f64(block) };
        (a, b)
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx512<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { avx512::split_f64::<K>(block, sigma) }
    }
    #[cfg(target_arch = "x86_64")]
    unsafe fn split_avx2<const K: usize>(
        block: &[Self],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        // SAFETY: the caller guarantees AVX2.
        unsafe { avx2::split_f64::<K>(block, sigma) }
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
}

/// [`split_row`] in AVX2 intrinsics: the same operations on the same lanes (LLVM leaves the
/// portable loop scalar).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{LANES, MAX_LEVELS};
    use std::arch::x86_64::*;

    type Acc = [[__m256d; 2]; MAX_LEVELS + 1];

    #[inline(always)]
    fn step<const K: usize>(a: &mut Acc, xs: [__m256d; 2], s0: __m256d, s1: __m256d) {
        // SAFETY (of the intrinsics): only inlined into functions compiled for AVX2.
        unsafe {
            for (j, x) in xs.into_iter().enumerate() {
                match K {
                    0 => a[0][j] = _mm256_add_pd(a[0][j], x),
                    1 => {
                        let q = _mm256_sub_pd(_mm256_add_pd(x, s0), s0);
                        a[0][j] = _mm256_add_pd(a[0][j], q);
                        a[1][j] = _mm256_add_pd(a[1][j], _mm256_sub_pd(x, q));
                    }
                    _ => {
                        let q = _mm256_sub_pd(_mm256_add_pd(x, s0), s0);
                        let r = _mm256_sub_pd(x, q);
                        let q1 = _mm256_sub_pd(_mm256_add_pd(r, s1), s1);
                        a[0][j] = _mm256_add_pd(a[0][j], q);
                        a[1][j] = _mm256_add_pd(a[1][j], q1);
                        a[2][j] = _mm256_add_pd(a[2][j], _mm256_sub_pd(r, q1));
                    }
                }
            }
        }
    }

    /// [`super::magnitude_range_f32`] in AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn range_f32(block: &[f32]) -> (u32, u32) {
        let mask = _mm256_set1_epi32(0x7fff_ffff);
        let one = _mm256_set1_epi32(1);
        let (mut max, mut min) = (_mm256_setzero_si256(), _mm256_set1_epi32(-1));
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            // SAFETY: `c` holds 8 f32.
            let m = _mm256_and_si256(unsafe { _mm256_loadu_si256(c.as_ptr().cast()) }, mask);
            max = _mm256_max_epu32(max, m);
            min = _mm256_min_epu32(min, _mm256_sub_epi32(m, one));
        }
        let (mut mx, mut mn) = ([0u32; 8], [0u32; 8]);
        // SAFETY: each store writes 8 u32 into its array.
        unsafe {
            _mm256_storeu_si256(mx.as_mut_ptr().cast(), max);
            _mm256_storeu_si256(mn.as_mut_ptr().cast(), min);
        }
        let (rmax, rmin) = super::magnitude_range_f32(it.remainder());
        let max = mx.into_iter().max().unwrap_or(0).max(rmax);
        let min = mn
            .into_iter()
            .min()
            .unwrap_or(u32::MAX)
            .min(rmin.wrapping_sub(1))
            .wrapping_add(1);
        (max, min)
    }

    /// [`super::magnitude_range_f64`] in AVX2 (signed 64-bit compares: magnitudes are below
    /// 2^63; `m − 1` with the sign bit flipped orders as unsigned, zeros last).
    #[target_feature(enable = "avx2")]
    pub(super) fn range_f64(block: &[f64]) -> (u64, u64) {
        let mask = _mm256_set1_epi64x(0x7fff_ffff_ffff_ffff);
        let one = _mm256_set1_epi64x(1);
        let flip = _mm256_set1_epi64x(i64::MIN);
        let (mut max, mut min) = (_mm256_setzero_si256(), _mm256_set1_epi64x(i64::MAX));
        let mut it = block.chunks_exact(4);
        for c in &mut it {
            // SAFETY: `c` holds 4 f64.
            let m = _mm256_and_si256(unsafe { _mm256_loadu_si256(c.as_ptr().cast()) }, mask);
            max = _mm256_blendv_epi8(max, m, _mm256_cmpgt_epi64(m, max));
            let k = _mm256_xor_si256(_mm256_sub_epi64(m, one), flip);
            min = _mm256_blendv_epi8(min, k, _mm256_cmpgt_epi64(min, k));
        }
        let (mut mx, mut mn) = ([0u64; 4], [0u64; 4]);
        // SAFETY: each store writes 4 u64 into its array.
        unsafe {
            _mm256_storeu_si256(mx.as_mut_ptr().cast(), max);
            _mm256_storeu_si256(mn.as_mut_ptr().cast(), min);
        }
        let (rmax, rmin) = super::magnitude_range_f64(it.remainder());
        let max = mx.into_iter().max().unwrap_or(0).max(rmax);
        let min = mn
            .into_iter()
            .map(|k| k ^ (1 << 63))
            .min()
            .unwrap_or(u64::MAX);
        (max, min.min(rmin.wrapping_sub(1)).wrapping_add(1))
    }

    #[inline(always)]
    fn finish(a: &Acc) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let mut out = [[0.0; LANES]; MAX_LEVELS + 1];
        for (o, v) in out.iter_mut().zip(a) {
            // SAFETY: each store writes 4 f64 inside `o`.
            unsafe {
                _mm256_storeu_pd(o.as_mut_ptr(), v[0]);
                _mm256_storeu_pd(o.as_mut_ptr().add(4), v[1]);
            }
        }
        out
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn split_f32<const K: usize>(
        block: &[f32],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let (s0, s1) = (_mm256_set1_pd(sigma[0]), _mm256_set1_pd(sigma[1]));
        let mut a: Acc = [[_mm256_setzero_pd(); 2]; MAX_LEVELS + 1];
        let mut it = block.chunks_exact(LANES);
        let load = |c: &[f32]| {
            // SAFETY: `c` holds 8 f32.
            unsafe {
                [
                    _mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr())),
                    _mm256_cvtps_pd(_mm_loadu_ps(c.as_ptr().add(4))),
                ]
            }
        };
        for c in &mut it {
            step::<K>(&mut a, load(c), s0, s1);
        }
        let rest = it.remainder();
        if !rest.is_empty() {
            let mut c = [0.0f32; LANES];
            c[..rest.len()].copy_from_slice(rest);
            step::<K>(&mut a, load(&c), s0, s1);
        }
        finish(&a)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn split_f64<const K: usize>(
        block: &[f64],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let (s0, s1) = (_mm256_set1_pd(sigma[0]), _mm256_set1_pd(sigma[1]));
        let mut a: Acc = [[_mm256_setzero_pd(); 2]; MAX_LEVELS + 1];
        let mut it = block.chunks_exact(LANES);
        let load = |c: &[f64]| {
            // SAFETY: `c` holds 8 f64.
            unsafe {
                [
                    _mm256_loadu_pd(c.as_ptr()),
                    _mm256_loadu_pd(c.as_ptr().add(4)),
                ]
            }
        };
        for c in &mut it {
            step::<K>(&mut a, load(c), s0, s1);
        }
        let rest = it.remainder();
        if !rest.is_empty() {
            let mut c = [0.0f64; LANES];
            c[..rest.len()].copy_from_slice(rest);
            step::<K>(&mut a, load(&c), s0, s1);
        }
        finish(&a)
    }
}

/// The AVX2 kernels with 512-bit vectors: 16 values a row, in two accumulators a level (one
/// row of [`LANES`] each), added lane-wise at the end (exact, like every level addition).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{LANES, MAX_LEVELS};
    use std::arch::x86_64::*;

    type Acc = [[__m512d; 2]; MAX_LEVELS + 1];

    #[inline(always)]
    fn step<const K: usize>(a: &mut Acc, xs: [__m512d; 2], s0: __m512d, s1: __m512d) {
        // SAFETY (of the intrinsics): only inlined into functions compiled for AVX-512F.
        unsafe {
            for (j, x) in xs.into_iter().enumerate() {
                match K {
                    0 => a[0][j] = _mm512_add_pd(a[0][j], x),
                    1 => {
                        let q = _mm512_sub_pd(_mm512_add_pd(x, s0), s0);
                        a[0][j] = _mm512_add_pd(a[0][j], q);
                        a[1][j] = _mm512_add_pd(a[1][j], _mm512_sub_pd(x, q));
                    }
                    _ => {
                        let q = _mm512_sub_pd(_mm512_add_pd(x, s0), s0);
                        let r = _mm512_sub_pd(x, q);
                        let q1 = _mm512_sub_pd(_mm512_add_pd(r, s1), s1);
                        a[0][j] = _mm512_add_pd(a[0][j], q);
                        a[1][j] = _mm512_add_pd(a[1][j], q1);
                        a[2][j] = _mm512_add_pd(a[2][j], _mm512_sub_pd(r, q1));
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn finish(a: &Acc) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let mut out = [[0.0; LANES]; MAX_LEVELS + 1];
        for (o, v) in out.iter_mut().zip(a) {
            // SAFETY: the store writes 8 f64 inside `o`.
            unsafe { _mm512_storeu_pd(o.as_mut_ptr(), _mm512_add_pd(v[0], v[1])) };
        }
        out
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn split_f32<const K: usize>(
        block: &[f32],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let (s0, s1) = (_mm512_set1_pd(sigma[0]), _mm512_set1_pd(sigma[1]));
        let mut a: Acc = [[_mm512_setzero_pd(); 2]; MAX_LEVELS + 1];
        let mut it = block.chunks_exact(16);
        let load = |c: &[f32]| {
            // SAFETY: `c` holds 16 f32.
            unsafe {
                [
                    _mm512_cvtps_pd(_mm256_loadu_ps(c.as_ptr())),
                    _mm512_cvtps_pd(_mm256_loadu_ps(c.as_ptr().add(8))),
                ]
            }
        };
        for c in &mut it {
            step::<K>(&mut a, load(c), s0, s1);
        }
        let rest = it.remainder();
        if !rest.is_empty() {
            let mut c = [0.0f32; 16];
            c[..rest.len()].copy_from_slice(rest);
            step::<K>(&mut a, load(&c), s0, s1);
        }
        finish(&a)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn split_f64<const K: usize>(
        block: &[f64],
        sigma: [f64; MAX_LEVELS],
    ) -> [[f64; LANES]; MAX_LEVELS + 1] {
        let (s0, s1) = (_mm512_set1_pd(sigma[0]), _mm512_set1_pd(sigma[1]));
        let mut a: Acc = [[_mm512_setzero_pd(); 2]; MAX_LEVELS + 1];
        let mut it = block.chunks_exact(16);
        let load = |c: &[f64]| {
            // SAFETY: `c` holds 16 f64.
            unsafe {
                [
                    _mm512_loadu_pd(c.as_ptr()),
                    _mm512_loadu_pd(c.as_ptr().add(8)),
                ]
            }
        };
        for c in &mut it {
            step::<K>(&mut a, load(c), s0, s1);
        }
        let rest = it.remainder();
        if !rest.is_empty() {
            let mut c = [0.0f64; 16];
            c[..rest.len()].copy_from_slice(rest);
            step::<K>(&mut a, load(&c), s0, s1);
        }
        finish(&a)
    }

    /// [`super::magnitude_range_f32`] in AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) fn range_f32(block: &[f32]) -> (u32, u32) {
        let mask = _mm512_set1_epi32(0x7fff_ffff);
        let one = _mm512_set1_epi32(1);
        let (mut max, mut min) = (_mm512_setzero_si512(), _mm512_set1_epi32(-1));
        let mut it = block.chunks_exact(16);
        for c in &mut it {
            // SAFETY: `c` holds 16 f32.
            let m = _mm512_and_si512(unsafe { _mm512_loadu_si512(c.as_ptr().cast()) }, mask);
            max = _mm512_max_epu32(max, m);
            min = _mm512_min_epu32(min, _mm512_sub_epi32(m, one));
        }
        let (rmax, rmin) = super::magnitude_range_f32(it.remainder());
        let max = _mm512_reduce_max_epu32(max).max(rmax);
        let min = _mm512_reduce_min_epu32(min)
            .min(rmin.wrapping_sub(1))
            .wrapping_add(1);
        (max, min)
    }

    /// [`super::magnitude_range_f64`] in AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) fn range_f64(block: &[f64]) -> (u64, u64) {
        let mask = _mm512_set1_epi64(0x7fff_ffff_ffff_ffff);
        let one = _mm512_set1_epi64(1);
        let (mut max, mut min) = (_mm512_setzero_si512(), _mm512_set1_epi64(-1));
        let mut it = block.chunks_exact(8);
        for c in &mut it {
            // SAFETY: `c` holds 8 f64.
            let m = _mm512_and_si512(unsafe { _mm512_loadu_si512(c.as_ptr().cast()) }, mask);
            max = _mm512_max_epu64(max, m);
            min = _mm512_min_epu64(min, _mm512_sub_epi64(m, one));
        }
        let (rmax, rmin) = super::magnitude_range_f64(it.remainder());
        let max = _mm512_reduce_max_epu64(max).max(rmax);
        let min = _mm512_reduce_min_epu64(min)
            .min(rmin.wrapping_sub(1))
            .wrapping_add(1);
        (max, min)
    }
}

// ---- Little big-integer helpers on little-endian u64 words (only for read-out and parsing). ----

fn trim(words: &mut Vec<u64>) {
    while words.last() == Some(&0) {
        words.pop();
    }
}

/// The number of zero bits below the lowest set bit (0 for zero).
fn trailing_zeros(words: &[u64]) -> u64 {
    match words.iter().position(|&w| w != 0) {
        Some(i) => i as u64 * 64 + words[i].trailing_zeros() as u64,
        None => 0,
    }
}

/// ±`mag` · 2^`unit` ÷ `n` rounded to `f` through one IEEE division, when that is provably the
/// correctly rounded quotient; `None` otherwise. It is when the sum is an `f64` (at most 53
/// significant bits, well inside the normal range) and `n` ≤ 2^53, so that the `f64` quotient
/// `q` is the exact one correctly rounded; for a narrower `f`, `q` must moreover lie in `f`'s
/// normal range and not within one `f64` ulp of a midpoint between two values of `f`: then no
/// midpoint lies between `q` and the exact quotient, and both round alike.
fn quick_div_count(neg: bool, mag: &[u64], unit: i64, n: u64, f: &Format) -> Option<u64> {
    let len = bit_len(mag);
    let tz = trailing_zeros(mag);
    if len == 0 || len - tz > 53 || n > 1 << 53 {
        return None;
    }
    let e = tz as i64 + unit;
    if !(-1000..=900).contains(&e) {
        return None;
    }
    let s = bits_from(mag, tz) as f64 * pow2(e as i32);
    let q = s / n as f64;
    if !q.is_normal() {
        return None;
    }
    let bits = q.to_bits();
    if f.p == 53 {
        return Some(bits | f.sign(neg));
    }
    let mant = bits & ((1 << 52) - 1) | 1 << 52;
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let top = exp + 52;
    if top < f.emin + f.p as i64 - 1 || top >= f.emax {
        return None;
    }
    let drop = 53 - f.p;
    let half = 1u64 << (drop - 1);
    if (mant & ((1 << drop) - 1)).abs_diff(half) <= 1 {
        return None;
    }
    Some(round(neg, &[mant], exp, false, f))
}

fn bit_len(words: &[u64]) -> u64 {
    match words.iter().rposition(|&w| w != 0) {
        Some(i) => i as u64 * 64 + 64 - words[i].leading_zeros() as u64,
        None => 0,
    }
}

fn bit(words: &[u64], i: u64) -> bool {
    words
        .get((i / 64) as usize)
        .is_some_and(|w| w >> (i % 64) & 1 != 0)
}

fn any_below(words: &[u64], i: u64) -> bool {
    let (w, b) = ((i / 64) as usize, i % 64);
    words[..w.min(words.len())].iter().any(|&x| x != 0)
        || (b > 0 && words.get(w).is_some_and(|&x| x & ((1 << b) - 1) != 0))
}

/// Bits `from..from + 64`.
fn bits_from(words: &[u64], from: u64) -> u64 {
    let (w, b) = ((from / 64) as usize, from % 64);
    let lo = words.get(w).copied().unwrap_or(0) >> b;
    let hi = if b == 0 {
        0
    } else {
        words.get(w + 1).copied().unwrap_or(0) << (64 - b)
    };
    lo | hi
}

fn shl(words: &[u64], n: u64) -> Vec<u64> {
    let (w, b) = ((n / 64) as usize, n % 64);
    let mut out = vec![0u64; words.len() + w + 1];
    for (i, &x) in words.iter().enumerate() {
        out[i + w] |= x << b;
        if b > 0 {
            out[i + w + 1] |= x >> (64 - b);
        }
    }
    trim(&mut out);
    out
}

fn shr1(words: &mut Vec<u64>) {
    for i in 0..words.len() {
        let next = words.get(i + 1).copied().unwrap_or(0);
        words[i] = words[i] >> 1 | next << 63;
    }
    trim(words);
}

fn cmp(a: &[u64], b: &[u64]) -> Ordering {
    let (la, lb) = (bit_len(a), bit_len(b));
    if la != lb {
        return la.cmp(&lb);
    }
    for i in (0..a.len().min(b.len())).rev() {
        match a[i].cmp(&b[i]) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    Ordering::Equal
}

/// `a -= b`, for `a >= b`.
fn sub_assign(a: &mut Vec<u64>, b: &[u64]) {
    let mut borrow = false;
    for (i, ai) in a.iter_mut().enumerate() {
        let (d, o1) = ai.overflowing_sub(b.get(i).copied().unwrap_or(0));
        let (d, o2) = d.overflowing_sub(borrow as u64);
        *ai = d;
        borrow = o1 || o2;
    }
    trim(a);
}

/// Rounds ±(`mag` · 2^`unit` + a positive amount below 2^`unit` if `sticky`) to the format, to
/// nearest, ties to even; returns its bit pattern. `mag` must have at least `p + 2` bits
/// whenever `sticky` is set.
fn round(neg: bool, mag: &[u64], unit: i64, sticky: bool, f: &Format) -> u64 {
    let len = bit_len(mag);
    if len == 0 {
        return f.zero(false);
    }
    let top = len as i64 - 1 + unit;
    let mut exp = (top - (f.p as i64 - 1)).max(f.emin);
    let shift = exp - unit;
    let mut m = if shift <= 0 {
        debug_assert!(!sticky);
        bits_from(mag, 0) << -shift
    } else {
        let shift = shift as u64;
        let mut m = bits_from(mag, shift);
        let half = bit(mag, shift - 1);
        let rest = sticky || any_below(mag, shift - 1);
        if half && (rest || m & 1 == 1) {
            m += 1;
            if m == 1 << f.p {
                m >>= 1;
                exp += 1;
            }
        }
        m
    };
    if m == 0 {
        return f.zero(neg);
    }
    if exp + 64 - m.leading_zeros() as i64 > f.emax {
        return f.inf(neg);
    }
    let hidden = 1u64 << (f.p - 1);
    let biased = if m >= hidden {
        m -= hidden;
        (exp - f.emin + 1) as u64
    } else {
        0
    };
    f.sign(neg) | biased << (f.p - 1) | m
}

/// Rounds ±`a` / `b` · 2^`unit` (`a`, `b` nonzero) to the format.
fn round_quotient(neg: bool, a: &[u64], b: &[u64], unit: i64, f: &Format) -> u64 {
    // Scale so that the quotient has 66 or 67 bits: q = ⌊a · 2^k / b⌋, sticky = remainder ≠ 0.
    let k = bit_len(b) as i64 - bit_len(a) as i64 + 66;
    if let [d] = *b {
        return round_quotient_by_word(neg, a, d, k, unit, f);
    }
    let (mut rem, mut den) = if k >= 0 {
        (shl(a, k as u64), b.to_vec())
    } else {
        (a.to_vec(), shl(b, (-k) as u64))
    };
    let mut q = 0u128;
    let qbits = 68;
    den = shl(&den, qbits - 1);
    for i in (0..qbits).rev() {
        if cmp(&rem, &den) != Ordering::Less {
            sub_assign(&mut rem, &den);
            q |= 1 << i;
        }
        shr1(&mut den);
    }
    let q = [q as u64, (q >> 64) as u64];
    round(neg, &q, unit - k, !rem.is_empty(), f)
}

/// [`round_quotient`] for a one-word divisor `d` (a count), by word-wise division: with
/// `n = ⌊a · 2^k⌋`, `⌊n / d⌋` is `⌊a · 2^k / d⌋` and the quotient is inexact exactly when a bit
/// of `a` was shifted out or `n mod d ≠ 0`.
fn round_quotient_by_word(neg: bool, a: &[u64], d: u64, k: i64, unit: i64, f: &Format) -> u64 {
    let (n, lost) = if k >= 0 {
        (shl(a, k as u64), false)
    } else {
        let from = (-k) as u64;
        let words = (bit_len(a).saturating_sub(from)).div_ceil(64) as usize;
        let n: Vec<u64> = (0..words as u64)
            .map(|i| bits_from(a, from + 64 * i))
            .collect();
        (n, any_below(a, from))
    };
    let mut q = vec![0u64; n.len()];
    let mut rem = 0u128;
    for (qi, &w) in q.iter_mut().zip(&n).rev() {
        let cur = rem << 64 | w as u128;
        *qi = (cur / d as u128) as u64;
        rem = cur % d as u128;
    }
    trim(&mut q);
    round(neg, &q, unit - k, lost || rem != 0, f)
}

// ---- Canonical text. ----

impl fmt::Display for ExactSum {
    /// The canonical spelling: `0`, or an exact hexadecimal float `[-]0x1[.hex]p±exp` (lowercase,
    /// no trailing zero digit, exponent without leading zeros, `p+0` for 0), followed by `;nan`,
    /// `;+inf`, `;-inf` for the flags that are set, in that order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (neg, mag, unit) = self.magnitude_window();
        let len = bit_len(&mag);
        if len == 0 {
            f.write_str("0")?;
        } else {
            let top = len - 1;
            f.write_str(if neg { "-0x1" } else { "0x1" })?;
            let mut digits = String::new();
            let mut i = top as i64;
            // Digits wholly below the lowest set bit are zeros, trimmed anyway.
            let lowest = trailing_zeros(&mag) as i64;
            while i > lowest {
                // The four bits below position i (those below 0 are zero).
                let mut d = 0;
                for j in 1..=4 {
                    d = d << 1 | (i - j >= 0 && bit(&mag, (i - j) as u64)) as u32;
                }
                digits.push(char::from_digit(d, 16).expect("a hex digit"));
                i -= 4;
            }
            let digits = digits.trim_end_matches('0');
            if !digits.is_empty() {
                write!(f, ".{digits}")?;
            }
            let exp = top as i64 + unit;
            write!(
                f,
                "p{}{}",
                if exp < 0 { '-' } else { '+' },
                exp.unsigned_abs()
            )?;
        }
        for (flag, name) in [
            (FLAG_NAN, ";nan"),
            (FLAG_POS_INF, ";+inf"),
            (FLAG_NEG_INF, ";-inf"),
        ] {
            if self.flags & flag != 0 {
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExactSum({self})")
    }
}

impl FromStr for ExactSum {
    type Err = ParseExactSumError;

    /// Parses the canonical spelling written by [`Display`](fmt::Display), and nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_TEXT_LEN {
            return Err(ParseExactSumError::TooLong { len: s.len() });
        }
        let bytes = s.as_bytes();
        let end = s.find(';').unwrap_or(s.len());
        let mut sum = parse_finite(&bytes[..end])?;
        let mut at = end;
        let mut last_flag = 0u8;
        while at < bytes.len() {
            let rest = &s[at + 1..];
            let (len, flag) = [
                ("nan", FLAG_NAN),
                ("+inf", FLAG_POS_INF),
                ("-inf", FLAG_NEG_INF),
            ]
            .into_iter()
            .find(|(name, _)| {
                rest.starts_with(name)
                    && matches!(rest.as_bytes().get(name.len()), None | Some(b';'))
            })
            .map(|(name, flag)| (name.len(), flag))
            .ok_or(ParseExactSumError::Syntax { at: at + 1 })?;
            if flag <= last_flag {
                return Err(ParseExactSumError::NotCanonical);
            }
            last_flag = flag;
            sum.flags |= flag;
            at += 1 + len;
        }
        Ok(sum)
    }
}

/// Parses the finite part: `0` or `[-]0x1[.hex]p±exp`.
fn parse_finite(b: &[u8]) -> Result<ExactSum, ParseExactSumError> {
    use ParseExactSumError::{NotCanonical, OutOfRange, Syntax};
    if b == b"0" {
        return Ok(ExactSum::default());
    }
    let mut i = 0;
    let neg = b.first() == Some(&b'-');
    i += neg as usize;
    for &want in b"0x1" {
        match b.get(i) {
            Some(&c) if c == want => i += 1,
            Some(c) if c.eq_ignore_ascii_case(&want) || c.is_ascii_hexdigit() => {
                return Err(NotCanonical);
            }
            _ => return Err(Syntax { at: i }),
        }
    }
    let mut frac: Vec<u8> = Vec::new();
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = b.get(i) {
            match c {
                b'0'..=b'9' => frac.push(c - b'0'),
                b'a'..=b'f' => frac.push(c - b'a' + 10),
                b'A'..=b'F' => return Err(NotCanonical),
                _ => break,
            }
            i += 1;
        }
        match frac.last() {
            None => return Err(Syntax { at: i }),
            Some(0) => return Err(NotCanonical),
            Some(_) => {}
        }
    }
    match b.get(i) {
        Some(b'p') => i += 1,
        Some(b'P') => return Err(NotCanonical),
        _ => return Err(Syntax { at: i }),
    }
    let exp_neg = match b.get(i) {
        Some(b'+') => false,
        Some(b'-') => true,
        Some(b'0'..=b'9') => return Err(NotCanonical),
        _ => return Err(Syntax { at: i }),
    };
    i += 1;
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        let bad = digits.iter().position(|c| !c.is_ascii_digit()).unwrap_or(0);
        return Err(Syntax { at: i + bad });
    }
    if (digits[0] == b'0' && digits.len() > 1) || (digits == b"0" && exp_neg) {
        return Err(NotCanonical);
    }
    if digits.len() > 5 {
        return Err(OutOfRange);
    }
    let mag: i64 = digits.iter().fold(0, |e, &d| e * 10 + (d - b'0') as i64);
    let exp = if exp_neg { -mag } else { mag };
    // Value = (16^n + frac) · 2^(exp − 4n): its lowest bit must lie on the 2^-1074 grid.
    let n = frac.len() as i64;
    let lowest = exp - 4 * n;
    let lowest_set = lowest + frac.last().map_or(4 * n, |&d| d.trailing_zeros() as i64);
    if exp > PARSE_MAX_EXP || lowest_set < -1074 {
        return Err(OutOfRange);
    }
    let mut sum = ExactSum::default();
    sum.add_bits(1, (exp + 1074) as u32, neg);
    for (j, &d) in frac.iter().enumerate().filter(|(_, d)| **d != 0) {
        let tz = d.trailing_zeros() as i64;
        let pos = lowest + 4 * (n - 1 - j as i64) + tz + 1074;
        sum.add_bits((d >> tz) as u64, pos as u32, neg);
    }
    sum.normalize();
    Ok(sum)
}

// ---- Equality on the canonical state. ----

impl PartialEq for ExactSum {
    fn eq(&self, other: &Self) -> bool {
        self.flags == other.flags && self.magnitude() == other.magnitude()
    }
}

impl Eq for ExactSum {}

impl Hash for ExactSum {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.flags.hash(state);
        self.magnitude().hash(state);
    }
}

#[cfg(test)]
mod tests {

    /// 2^e exactly, subnormals included (`powi` computes 1 / 2^-e, which is 0 below 2^-1023).
    fn p2(e: i32) -> f64 {
        match e {
            -1022..=1023 => f64::from_bits(((e + 1023) as u64) << 52),
            -1074..=-1023 => f64::from_bits(1 << (e + 1074)),
            _ if e > 0 => f64::INFINITY,
            _ => 0.0,
        }
    }

    /// 2^e exactly as `f32`, subnormals included.
    fn p2f(e: i32) -> f32 {
        p2(e) as f32
    }
    use super::*;
    use crate::xorshift::Rng;
    use num_bigint::BigInt;
    use proptest::prelude::*;

    /// The draws these tests add to the shared test generator.
    trait Draws {
        /// A draw in `0..n`.
        fn pick(&mut self, n: u64) -> u64;
        /// A uniform value in [0, 1).
        fn unit(&mut self) -> f64;
        /// A standard normal value (Box–Muller).
        fn normal(&mut self) -> f64;
    }

    impl Draws for Rng {
        fn pick(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.unit().max(1e-300), self.unit());
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    /// A value of one of many kinds: realistic losses, any bit pattern, subnormals, huge, tiny,
    /// negative, infinities and NaN (rarely), values that cancel.
    fn any_f64(rng: &mut Rng, specials: bool) -> f64 {
        let sign = if rng.pick(3) == 0 { -1.0 } else { 1.0 };
        let x = match rng.pick(10) {
            0 => f64::from_bits(rng.next()),
            1 => f64::from_bits(rng.next() & 0x000f_ffff_ffff_ffff),
            2 => f64::MAX * rng.unit(),
            3 => rng.unit() * p2(rng.pick(2000) as i32 - 1000),
            4 => p2(rng.pick(2098) as i32 - 1074),
            5 => [1.0, 1e308, 1e-308, 0.0, -0.0, f64::MIN_POSITIVE][rng.pick(6) as usize],
            6 if specials => [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][rng.pick(3) as usize],
            _ => huber(rng.normal()),
        };
        if x.is_nan() && !specials {
            1.0
        } else if !specials && x.is_infinite() {
            -2.5
        } else {
            sign * x
        }
    }

    fn any_f32(rng: &mut Rng, specials: bool) -> f32 {
        let sign = if rng.pick(3) == 0 { -1.0 } else { 1.0 };
        let x = match rng.pick(10) {
            0 => f32::from_bits(rng.next() as u32),
            1 => f32::from_bits(rng.next() as u32 & 0x007f_ffff),
            2 => f32::MAX * rng.unit() as f32,
            3 => p2f(rng.pick(277) as i32 - 149),
            4 => [1.0, 1e38, 1e-38, 0.0, -0.0, p2f(100)][rng.pick(6) as usize],
            5 if specials => [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][rng.pick(3) as usize],
            _ => huber(rng.normal()) as f32,
        };
        if !specials && !x.is_finite() {
            0.75
        } else {
            sign * x
        }
    }

    fn huber(r: f64) -> f64 {
        let z = r.abs();
        if z < 1.0 { 0.5 * z * z } else { z - 0.5 }
    }

    /// The exact reference: the sum of the finite values in units of 2^-1074, and the flags.
    #[derive(Default, Clone)]
    struct Reference {
        sum: BigInt,
        nan: bool,
        pos_inf: bool,
        neg_inf: bool,
    }

    impl Reference {
        fn add(&mut self, x: f64) {
            if x.is_nan() {
                self.nan = true;
            } else if x.is_infinite() {
                if x > 0.0 {
                    self.pos_inf = true
                } else {
                    self.neg_inf = true
                }
            } else {
                self.sum += units(x);
            }
        }
        fn of(xs: &[f64]) -> Self {
            let mut r = Reference::default();
            xs.iter().for_each(|&x| r.add(x));
            r
        }
        fn class(&self) -> Option<f64> {
            if self.nan || (self.pos_inf && self.neg_inf) {
                Some(f64::NAN)
            } else if self.pos_inf {
                Some(f64::INFINITY)
            } else if self.neg_inf {
                Some(f64::NEG_INFINITY)
            } else {
                None
            }
        }
    }

    /// A finite f64 in units of 2^-1074.
    fn units(x: f64) -> BigInt {
        let bits = x.to_bits();
        let exp = (bits >> 52) & 0x7ff;
        let frac = bits & 0xf_ffff_ffff_ffff;
        let (m, pos) = if exp == 0 {
            (frac, 0)
        } else {
            (frac | 1 << 52, exp - 1)
        };
        let v = BigInt::from(m) << pos as usize;
        if bits >> 63 == 1 { -v } else { v }
    }

    fn state_value(s: &ExactSum) -> BigInt {
        let (neg, words) = s.magnitude();
        let mut v = BigInt::from(0);
        for &w in words.iter().rev() {
            v = (v << 64usize) + BigInt::from(w);
        }
        if neg { -v } else { v }
    }

    /// The exact value of a finite bit pattern (or 2^emax for the infinity pattern), as m · 2^e.
    fn dyadic(ord: i64, f: &Format) -> (BigInt, i64) {
        let mag = ord.unsigned_abs();
        let frac = mag & ((1 << (f.p - 1)) - 1);
        let biased = mag >> (f.p - 1);
        let (m, e) = if biased == 0 {
            (frac, f.emin)
        } else {
            (frac | 1 << (f.p - 1), biased as i64 - 1 + f.emin)
        };
        let m = BigInt::from(m);
        (if ord < 0 { -m } else { m }, e)
    }

    fn ordinal(bits: u64, f: &Format) -> i64 {
        let mag = (bits & !f.sign(true)) as i64;
        if bits & f.sign(true) != 0 { -mag } else { mag }
    }

    fn midpoint(a: (BigInt, i64), b: (BigInt, i64)) -> (BigInt, i64) {
        let e = a.1.min(b.1);
        (
            (a.0 << (a.1 - e) as usize) + (b.0 << (b.1 - e) as usize),
            e - 1,
        )
    }

    /// Compares num/den (den > 0) with m · 2^e.
    fn cmp_q(num: &BigInt, den: &BigInt, d: &(BigInt, i64)) -> Ordering {
        if d.1 >= 0 {
            num.cmp(&((&d.0 * den) << d.1 as usize))
        } else {
            (num << (-d.1) as usize).cmp(&(&d.0 * den))
        }
    }

    /// Whether `got` is num/den rounded to nearest, ties to even, with the sign of zero right.
    fn check_rounded(num: &BigInt, den: &BigInt, got: u64, f: &Format) -> Result<(), String> {
        let (num, den) = if den < &BigInt::from(0) {
            (-num, -den)
        } else {
            (num.clone(), den.clone())
        };
        let inf_ord = f.inf(false) as i64;
        let o = ordinal(got, f);
        if o.abs() > inf_ord {
            return Err(format!("NaN {got:#x} for a finite value"));
        }
        let zero = BigInt::from(0);
        let sign = num.cmp(&zero);
        if o == 0 {
            let want = if sign == Ordering::Less {
                f.zero(true)
            } else {
                f.zero(false)
            };
            if got != want {
                return Err(format!("zero of the wrong sign: {got:#x}"));
            }
        }
        let v = |o: i64| dyadic(o, f);
        if o.abs() == inf_ord {
            let s = o.signum();
            let edge = midpoint(v(s * (inf_ord - 1)), v(o));
            let c = cmp_q(&num, &den, &edge);
            let ok = if s > 0 {
                c != Ordering::Less
            } else {
                c != Ordering::Greater
            };
            return if ok {
                Ok(())
            } else {
                Err(format!("infinity for a value below the edge: {got:#x}"))
            };
        }
        let lo = midpoint(v(o - 1), v(o));
        let hi = midpoint(v(o), v(o + 1));
        let even = o.unsigned_abs().is_multiple_of(2);
        match (cmp_q(&num, &den, &lo), cmp_q(&num, &den, &hi)) {
            (Ordering::Greater, Ordering::Less) => Ok(()),
            (Ordering::Equal, _) | (_, Ordering::Equal) if even => Ok(()),
            _ => Err(format!(
                "{got:#x} is not the correctly rounded value of {num}/{den}"
            )),
        }
    }

    /// Checks every read-out of `s` against the reference: the exact value, sum, mean and
    /// ratio to `den` in f64, f32 and f16.
    fn check_all(s: &ExactSum, r: &Reference, n: u64, den: &ExactSum, rd: &Reference) {
        let one = BigInt::from(1);
        let unit_den = one.clone() << 1074usize;
        let same_nan = |a: u64, b: f64, f: &Format| match b {
            b if b.is_nan() => assert_eq!(a, f.nan),
            b => assert_eq!(a, f.inf(b < 0.0)),
        };
        match r.class() {
            Some(c) => {
                same_nan(s.to_f64().to_bits(), c, &F64);
                same_nan(s.to_f32().to_bits() as u64, c, &F32);
                same_nan(s.to_f16_bits() as u64, c, &F16);
                if n > 0 {
                    same_nan(s.div_count_f64(n).to_bits(), c, &F64);
                    same_nan(s.div_count_f16_bits(n) as u64, c, &F16);
                }
            }
            None => {
                assert_eq!(state_value(s), r.sum, "exact value");
                check_rounded(&r.sum, &unit_den, s.to_f64().to_bits(), &F64).unwrap();
                check_rounded(&r.sum, &unit_den, s.to_f32().to_bits() as u64, &F32).unwrap();
                check_rounded(&r.sum, &unit_den, s.to_f16_bits() as u64, &F16).unwrap();
                if n > 0 {
                    let d = &unit_den * BigInt::from(n);
                    check_rounded(&r.sum, &d, s.div_count_f64(n).to_bits(), &F64).unwrap();
                    check_rounded(&r.sum, &d, s.div_count_f32(n).to_bits() as u64, &F32).unwrap();
                    check_rounded(&r.sum, &d, s.div_count_f16_bits(n) as u64, &F16).unwrap();
                }
            }
        }
        assert!(s.div_count_f64(0).is_nan());
        // Ratio: IEEE division of the two read-out values, exact zero being +0.
        let (a, b) = (r.class(), rd.class());
        let zero = BigInt::from(0);
        let got = [
            (s.ratio_f64(den).to_bits(), &F64),
            (s.ratio_f32(den).to_bits() as u64, &F32),
            (s.ratio_f16_bits(den) as u64, &F16),
        ];
        for (bits, f) in got {
            match (a, b) {
                (None, None) if rd.sum != zero && r.sum != zero => {
                    check_rounded(&r.sum, &rd.sum, bits, f).unwrap()
                }
                _ => {
                    let x = a.unwrap_or(if r.sum < zero {
                        -1.0
                    } else if r.sum > zero {
                        1.0
                    } else {
                        0.0
                    });
                    let y = b.unwrap_or(if rd.sum < zero {
                        -1.0
                    } else if rd.sum > zero {
                        1.0
                    } else {
                        0.0
                    });
                    let want = x / y;
                    if want.is_nan() {
                        assert_eq!(bits, f.nan);
                    } else if want.is_infinite() {
                        assert_eq!(bits, f.inf(want < 0.0));
                    } else {
                        assert_eq!(want, 0.0);
                        assert_eq!(bits, f.zero(want.is_sign_negative()));
                    }
                }
            }
        }
    }

    fn sum64(xs: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        s.add_f64(xs);
        s
    }

    fn sum32(xs: &[f32]) -> ExactSum {
        let mut s = ExactSum::default();
        s.add_f32(xs);
        s
    }

    #[test]
    fn adversarial_sums_are_correctly_rounded() {
        let p = p2;
        assert_eq!(sum64(&[1.0, p(-53), p(-200)]).to_f64(), 1.0000000000000002);
        assert_eq!(sum32(&[p2f(100), 1.0, -(p2f(100))]).to_f32(), 1.0);
        assert_eq!(sum64(&[1e308, 1e308, -1e308]).to_f64(), 1e308);
        assert_eq!(sum64(&[f64::MAX, f64::MAX]).div_count_f64(2), f64::MAX);
        assert_eq!(sum64(&[f64::MAX, f64::MAX]).to_f64(), f64::INFINITY);
        assert_eq!(sum64(&[f64::MAX, f64::MAX, -f64::MAX]).to_f64(), f64::MAX);
        // Ties to even, and a tie broken by a far-away bit.
        assert_eq!(sum64(&[1.0, p(-53)]).to_f64(), 1.0);
        assert_eq!(sum64(&[1.0 + p(-52), p(-53)]).to_f64(), 1.0 + p(-51));
        assert_eq!(sum64(&[1.0, p(-53), -p(-1074)]).to_f64(), 1.0);
        assert_eq!(sum64(&[1.0, p(-53), p(-1074)]).to_f64(), 1.0 + p(-52));
        // Massive cancellation to a tiny or subnormal result.
        assert_eq!(sum64(&[1e300, 1e-300, -1e300]).to_f64(), 1e-300);
        assert_eq!(sum64(&[p(-1074), p(-1074)]).to_f64(), p(-1073));
        assert_eq!(
            sum64(&[f64::MIN_POSITIVE, -p(-1074)]).to_f64(),
            f64::MIN_POSITIVE - p(-1074)
        );
        // f32 read-outs round directly from the exact value (no double rounding through f64).
        let x = sum64(&[1.0, p(-24), p(-60)]);
        assert_eq!(x.to_f32(), 1.0 + p2f(-23));
        assert_eq!((x.to_f64() as f32), 1.0, "the f64 route rounds twice");
        // A negative value too small for f32 rounds to -0.0; an exact zero is +0.0.
        assert_eq!(sum64(&[-p(-200)]).to_f32().to_bits(), (-0.0f32).to_bits());
        assert_eq!(sum64(&[-0.0, -0.0]).to_f64().to_bits(), 0);
        assert_eq!(sum64(&[1.5, -1.5]).to_f64().to_bits(), 0);
        // Means and weighted means from the issue.
        assert_eq!(sum64(&[1.0, 0.0, 0.0]).div_count_f64(3), 1.0 / 3.0);
        let w = sum32(&[3.0, 1e38, -1e38]);
        assert_eq!(w.to_f32(), 3.0);
        assert_eq!(sum32(&[3.0, 1e38, -1e38]).ratio_f32(&w), 1.0);
        // f16: 65519 rounds to 65504, 65520 overflows; 2^-25 ties to 0, a bit more rounds up.
        assert_eq!(sum64(&[65519.0]).to_f16_bits(), 0x7bff);
        assert_eq!(sum64(&[65520.0]).to_f16_bits(), 0x7c00);
        assert_eq!(sum64(&[p(-25)]).to_f16_bits(), 0);
        assert_eq!(sum64(&[p(-25), p(-40)]).to_f16_bits(), 1);
        assert_eq!(sum64(&[1.0, 2.0]).div_count_f16_bits(3), 0x3c00);
    }

    #[test]
    fn non_finite_values() {
        let nan = sum64(&[1.0, f64::NAN]);
        assert!(nan.to_f64().is_nan() && nan.to_f32().is_nan() && nan.has_nan());
        assert_eq!(nan.to_f16_bits(), 0x7e00);
        let inf = sum64(&[1.0, f64::INFINITY, 2.0]);
        assert_eq!(inf.to_f64(), f64::INFINITY);
        assert_eq!(inf.div_count_f64(3), f64::INFINITY);
        assert_eq!(sum32(&[f32::NEG_INFINITY]).to_f32(), f32::NEG_INFINITY);
        assert!(sum32(&[f32::INFINITY, f32::NEG_INFINITY]).to_f64().is_nan());
        assert!(ExactSum::default().div_count_f64(0).is_nan());
        assert_eq!(ExactSum::default().to_f64().to_bits(), 0);
        let (zero, one, neg) = (ExactSum::default(), sum64(&[1.0]), sum64(&[-2.0]));
        assert!(zero.ratio_f64(&zero).is_nan());
        assert_eq!(one.ratio_f64(&zero), f64::INFINITY);
        assert_eq!(neg.ratio_f64(&zero), f64::NEG_INFINITY);
        assert_eq!(zero.ratio_f64(&neg).to_bits(), (-0.0f64).to_bits());
        assert_eq!(
            one.ratio_f64(&sum64(&[f64::NEG_INFINITY])).to_bits(),
            (-0.0f64).to_bits()
        );
        assert!(inf.ratio_f64(&inf).is_nan());
        assert_eq!(inf.ratio_f32(&neg), f32::NEG_INFINITY);
        assert_eq!(one.ratio_f64(&neg), -0.5);
    }

    #[test]
    fn random_inputs_match_the_exact_reference() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let len = [1, 2, 5, 100, 2048, 2049, 5000][round % 7];
            let specials = round % 5 == 0;
            let xs: Vec<f64> = (0..len).map(|_| any_f64(&mut rng, specials)).collect();
            let ys: Vec<f32> = (0..len).map(|_| any_f32(&mut rng, specials)).collect();
            let ws: Vec<f64> = (0..len)
                .map(|_| any_f64(&mut rng, round % 10 == 0))
                .collect();
            let ws32: Vec<f32> = (0..len).map(|_| any_f32(&mut rng, false)).collect();
            let n = if round % 3 == 0 {
                len as u64
            } else {
                1 + rng.pick(1 << 40)
            };
            let (rx, rw) = (Reference::of(&xs), Reference::of(&ws));
            let y64: Vec<f64> = ys.iter().map(|&y| y as f64).collect();
            let w64: Vec<f64> = ws32.iter().map(|&y| y as f64).collect();
            let (ry, rw32) = (Reference::of(&y64), Reference::of(&w64));
            check_all(&sum64(&xs), &rx, n, &sum64(&ws), &rw);
            check_all(&sum32(&ys), &ry, n, &sum32(&ws32), &rw32);
        }
    }

    /// Values near each level's bound of the fast path: full significands of one sign (largest
    /// partial sums) over every exponent span, in blocks of exactly 2048 and ragged lengths.
    #[test]
    fn fast_path_is_exact_at_its_bounds() {
        let mut rng = Rng(7);
        for span in 0..130 {
            for &(len, neg) in &[
                (2048usize, false),
                (2048, true),
                (2047, false),
                (3000, true),
            ] {
                let top = rng.pick(600) as i32 - 300;
                let xs: Vec<f64> = (0..len)
                    .map(|i| {
                        let e = if i % 7 == 0 {
                            top - span
                        } else {
                            top - rng.pick(span as u64 + 1) as i32
                        };
                        let m = if i % 3 == 0 {
                            (1u64 << 53) - 1
                        } else {
                            (1 << 52) | rng.next() >> 12
                        };
                        let x = m as f64 * p2(e - 52);
                        let neg = neg && rng.pick(4) != 0;
                        if neg { -x } else { x }
                    })
                    .collect();
                let s = sum64(&xs);
                assert_eq!(state_value(&s), Reference::of(&xs).sum, "f64 span {span}");
                let top = rng.pick(200) as i32 - 100;
                let ys: Vec<f32> = (0..len)
                    .map(|i| {
                        let e = (top
                            - if i % 5 == 0 {
                                span
                            } else {
                                rng.pick(span as u64 + 1) as i32
                            })
                        .max(-149);
                        let m = if i % 3 == 0 {
                            (1u32 << 24) - 1
                        } else {
                            (1 << 23) | rng.next() as u32 >> 9
                        };
                        let y = (m as f64 * p2(e - 23)) as f32;
                        if neg && i % 2 == 0 { -y } else { y }
                    })
                    .collect();
                let y64: Vec<f64> = ys.iter().map(|&y| y as f64).collect();
                assert_eq!(
                    state_value(&sum32(&ys)),
                    Reference::of(&y64).sum,
                    "f32 span {span}"
                );
            }
        }
    }

    #[test]
    fn split_plan_levels() {
        // f64 blocks: one split up to 30 binades, two up to 72.
        let f64_levels = |span: i32| split_plan(10, 10 - 1 - 52 - span).map(|p| p.0);
        assert_eq!(f64_levels(30), Some(1));
        assert_eq!(f64_levels(31), Some(2));
        assert_eq!(f64_levels(72), Some(2));
        assert_eq!(f64_levels(73), None);
        let f32_levels = |span: i32| split_plan(10, 10 - 1 - 23 - span).map(|p| p.0);
        assert_eq!(f32_levels(17), Some(0));
        assert_eq!(f32_levels(18), Some(1));
        assert_eq!(f32_levels(59), Some(1));
        assert_eq!(f32_levels(60), Some(2));
        assert_eq!(split_plan(1020, 900), None);
    }

    #[test]
    fn dispatched_and_portable_paths_agree() {
        let mut rng = Rng(3);
        for round in 0..50 {
            let xs: Vec<f64> = (0..5000)
                .map(|_| any_f64(&mut rng, round % 2 == 0))
                .collect();
            let ys: Vec<f32> = (0..5000)
                .map(|_| any_f32(&mut rng, round % 2 == 0))
                .collect();
            let (mut a, mut b) = (ExactSum::default(), ExactSum::default());
            a.add_f64(&xs);
            a.add_f32(&ys);
            b.add_f64_portable(&xs);
            b.add_f32_portable(&ys);
            assert_eq!(a.to_string(), b.to_string());
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut d = ExactSum::default();
                // SAFETY: the CPU has AVX2.
                unsafe {
                    d.add_f64_avx2(&xs);
                    d.add_f32_avx2(&ys);
                }
                assert_eq!(a.to_string(), d.to_string());
            }
            let mut c = ExactSum::default();
            xs.iter().for_each(|&x| c.push_f64(x));
            ys.iter().for_each(|&y| c.push_f32(y));
            assert_eq!(a.to_string(), c.to_string());
        }
    }

    #[test]
    fn carries_survive_many_pushes() {
        let mut s = ExactSum::default();
        let n = PENDING_LIMIT as u64 + 12345;
        for i in 0..n {
            s.push_f64(if i % 2 == 0 { 4294967295.0 } else { -1.5 });
        }
        let r = BigInt::from(4294967295u64) * BigInt::from(n.div_ceil(2))
            - BigInt::from(3) * BigInt::from(n / 2) / BigInt::from(2);
        assert_eq!(state_value(&s), r << 1074usize);
    }

    #[test]
    fn canonical_text() {
        let cases: [(&[f64], &str); 9] = [
            (&[], "0"),
            (&[1.0], "0x1p+0"),
            (&[-3.0], "-0x1.8p+1"),
            (
                &[1.0, p2(-200)],
                "0x1.00000000000000000000000000000000000000000000000001p+0",
            ),
            (&[-12.000000000000002], "-0x1.8000000000001p+3"),
            (&[p2(-1074)], "0x1p-1074"),
            (&[3.0 * p2(-1074)], "0x1.8p-1073"),
            (&[f64::MAX, f64::MAX], "0x1.fffffffffffffp+1024"),
            (
                &[f64::NAN, f64::NEG_INFINITY, 0.5, f64::INFINITY],
                "0x1p-1;nan;+inf;-inf",
            ),
        ];
        for (xs, text) in cases {
            let s = sum64(xs);
            assert_eq!(s.to_string(), text);
            assert_eq!(text.parse::<ExactSum>().unwrap(), s);
            assert_eq!(text.parse::<ExactSum>().unwrap().to_string(), text);
        }
        assert_eq!(format!("{:?}", sum64(&[2.0])), "ExactSum(0x1p+1)");
    }

    #[test]
    fn parser_refuses_other_spellings() {
        use ParseExactSumError::*;
        let refused = [
            ("", Syntax { at: 0 }),
            ("-0", Syntax { at: 2 }),
            ("+0x1p+0", Syntax { at: 0 }),
            ("0x1", Syntax { at: 3 }),
            ("0x1.p+0", Syntax { at: 4 }),
            ("0x1p", Syntax { at: 4 }),
            ("0x1p+", Syntax { at: 5 }),
            ("0x1p+1x", Syntax { at: 6 }),
            ("0x1p+0;", Syntax { at: 7 }),
            ("0x1p+0;inf", Syntax { at: 7 }),
            ("0x1p+0;nan;", Syntax { at: 11 }),
            ("0x1p+0 ", Syntax { at: 6 }),
            (" 0x1p+0", Syntax { at: 0 }),
            ("0x1.8p+٣", Syntax { at: 7 }),
            ("0x1.80p+0", NotCanonical),
            ("0x1.8P+0", NotCanonical),
            ("0X1p+0", NotCanonical),
            ("0x1.Ap+0", NotCanonical),
            ("0x2p+0", NotCanonical),
            ("0x1p0", NotCanonical),
            ("0x1p-0", NotCanonical),
            ("0x1p+01", NotCanonical),
            ("0;+inf;nan", NotCanonical),
            ("0;nan;nan", NotCanonical),
            ("0x1p-1075", OutOfRange),
            ("0x1.1p-1071", OutOfRange),
            ("0x1p+1088", OutOfRange),
            ("0x1p+999999", OutOfRange),
            ("0x1p-9999999999999999999999", OutOfRange),
        ];
        for (text, err) in refused {
            assert_eq!(text.parse::<ExactSum>(), Err(err), "{text:?}");
        }
        assert_eq!(
            "0x1p+1087".parse::<ExactSum>().unwrap().to_string(),
            "0x1p+1087"
        );
        assert_eq!(
            "0x1.2p-1071".parse::<ExactSum>().unwrap().to_f64(),
            9.0 * p2(-1074)
        );
        let long = format!("0x1.{}p+0", "1".repeat(10_000_000));
        assert_eq!(long.parse::<ExactSum>(), Err(TooLong { len: long.len() }));
        let long = format!("0x1.{}p+1087", "f".repeat(540));
        assert!(long.parse::<ExactSum>().is_ok());
    }

    /// Parses whatever it is given without panicking, and whatever it accepts prints back as it
    /// was.
    #[test]
    fn parser_round_trips_what_it_accepts() {
        let mut rng = Rng(11);
        let alphabet = b"0x1.p+-;naif8F9ec";
        for _ in 0..200_000 {
            let len = rng.pick(14) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[rng.pick(alphabet.len() as u64) as usize] as char)
                .collect();
            if let Ok(s) = text.parse::<ExactSum>() {
                assert_eq!(s.to_string(), text);
            }
        }
    }

    fn merge_tree(mut parts: Vec<ExactSum>, rng: &mut Rng) -> ExactSum {
        if parts.is_empty() {
            return ExactSum::default();
        }
        while parts.len() > 1 {
            let i = rng.pick(parts.len() as u64) as usize;
            let a = parts.swap_remove(i);
            let j = rng.pick(parts.len() as u64) as usize;
            parts[j].merge(&a);
        }
        parts.pop().unwrap()
    }

    /// Splits the values at random boundaries, sums the shards by chunks or one value at a
    /// time, shuffled, and merges them in a random tree.
    fn sharded<T: Copy>(
        xs: &[T],
        seed: u64,
        add: fn(&mut ExactSum, &[T]),
        push: fn(&mut ExactSum, T),
    ) -> ExactSum {
        let mut rng = Rng(seed | 1);
        let mut xs = xs.to_vec();
        for i in (1..xs.len()).rev() {
            xs.swap(i, rng.pick(i as u64 + 1) as usize);
        }
        let mut parts = Vec::new();
        let mut rest = &xs[..];
        while !rest.is_empty() {
            let cut = 1 + rng.pick(rest.len() as u64) as usize;
            let (shard, tail) = rest.split_at(cut);
            let mut s = ExactSum::default();
            for chunk in shard.chunks(1 + rng.pick(5000) as usize) {
                if rng.pick(4) == 0 {
                    chunk.iter().for_each(|&x| push(&mut s, x));
                } else {
                    add(&mut s, chunk);
                }
            }
            parts.push(s);
            rest = tail;
        }
        merge_tree(parts, &mut rng)
    }

    fn values64() -> impl Strategy<Value = Vec<f64>> {
        (any::<u64>(), 0usize..9000, any::<bool>()).prop_map(|(seed, len, specials)| {
            let mut rng = Rng(seed | 1);
            (0..len)
                .map(|_| {
                    let sp = specials && rng.pick(50) == 0;
                    any_f64(&mut rng, sp)
                })
                .collect()
        })
    }

    fn values32() -> impl Strategy<Value = Vec<f32>> {
        (any::<u64>(), 0usize..9000, any::<bool>()).prop_map(|(seed, len, specials)| {
            let mut rng = Rng(seed | 1);
            (0..len)
                .map(|_| {
                    let sp = specials && rng.pick(50) == 0;
                    any_f32(&mut rng, sp)
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_split_order_and_tree_gives_one_state_f64(xs in values64(), seeds in any::<[u64; 3]>()) {
            let whole = sum64(&xs);
            let text = whole.to_string();
            for seed in seeds {
                let s = sharded(&xs, seed, ExactSum::add_f64, ExactSum::push_f64);
                prop_assert_eq!(&s, &whole);
                prop_assert_eq!(s.to_string(), text.clone());
            }
            let r = Reference::of(&xs);
            check_all(&whole, &r, xs.len() as u64, &whole, &r);
            prop_assert_eq!(text.parse::<ExactSum>().unwrap(), whole);
        }

        #[test]
        fn any_split_order_and_tree_gives_one_state_f32(xs in values32(), seeds in any::<[u64; 3]>()) {
            let whole = sum32(&xs);
            let text = whole.to_string();
            for seed in seeds {
                let s = sharded(&xs, seed, ExactSum::add_f32, ExactSum::push_f32);
                prop_assert_eq!(&s, &whole);
                prop_assert_eq!(s.to_string(), text.clone());
            }
            let y64: Vec<f64> = xs.iter().map(|&y| y as f64).collect();
            let r = Reference::of(&y64);
            check_all(&whole, &r, xs.len() as u64, &whole, &r);
            prop_assert_eq!(text.parse::<ExactSum>().unwrap(), whole);
        }

        /// Values made to sit on or next to rounding boundaries: a value exactly representable
        /// in the target plus half an ulp, plus or minus something far smaller.
        #[test]
        fn rounding_boundaries(m in any::<u64>(), e in -1100i32..1000, tiny in -1074i32..-900, sel in 0u8..4, n in 1u64..1000) {
            let base = ((m >> 11) | 1 << 52) as f64 * p2(e - 52);
            let base = if base.is_finite() { base } else { 1.0 };
            let half = base * p2(-53);
            let half32 = (base as f32 as f64) * p2(-24);
            let xs: Vec<f64> = match sel {
                0 => vec![base, half],
                1 => vec![base, half, p2(tiny)],
                2 => vec![base as f32 as f64, half32, -(p2(tiny))],
                _ => vec![base, -base, half, p2(tiny)],
            };
            let xs: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
            let s = sum64(&xs);
            let r = Reference::of(&xs);
            let den = sum64(&[3.0, p2(tiny)]);
            check_all(&s, &r, n, &den, &Reference::of(&[3.0, p2(tiny)]));
        }
    }

    /// Values summed per group on a slice's grid, each group's `i128` of units added once, give
    /// the state the values added one by one give; slices the grid cannot hold have none.
    #[test]
    fn grid_sums_per_group_are_exact() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut gridded = 0;
        for round in 0..400 {
            let len = 1 + rng.pick(if round % 4 == 0 { 1 << 14 } else { 300 }) as usize;
            // Magnitudes over a random number of binades, so that some slices fit and some do not.
            let span = rng.pick(120) as i32;
            let top = rng.pick(1800) as i32 - 1000;
            let xs: Vec<f64> = (0..len)
                .map(|_| {
                    let m = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                    let x = m * p2(top - rng.pick(span as u64 + 1) as i32);
                    if rng.pick(3) == 0 { -x } else { x }
                })
                .collect();
            let ys: Vec<f32> = xs.iter().map(|&x| (x * p2(-top)) as f32).collect();
            let groups = 1 + rng.pick(7) as usize;
            let of: Vec<usize> = (0..len).map(|_| rng.pick(groups as u64) as usize).collect();
            let (g64, g32) = (Grid::of_f64(&xs), Grid::of_f32(&ys));
            for g in 0..groups {
                let (mut want64, mut got64) = (ExactSum::default(), ExactSum::default());
                let (mut want32, mut got32) = (ExactSum::default(), ExactSum::default());
                let (mut u64s, mut u32s) = (0i128, 0i128);
                for (i, _) in of.iter().enumerate().filter(|&(_, &k)| k == g) {
                    want64.push_f64(xs[i]);
                    want32.push_f32(ys[i]);
                    u64s += g64.map_or(0, |grid| grid.units_f64(xs[i]));
                    u32s += g32.map_or(0, |grid| grid.units_f32(ys[i]));
                }
                if let Some(grid) = g64 {
                    got64.add_units(u64s, grid);
                    assert_eq!(got64.to_string(), want64.to_string(), "f64 span {span}");
                    gridded += 1;
                }
                if let Some(grid) = g32 {
                    got32.add_units(u32s, grid);
                    assert_eq!(got32.to_string(), want32.to_string(), "f32 span {span}");
                }
            }
            if span > 60 + 11 {
                assert!(g64.is_none() || len < 1 << 14, "span {span}, {len} values");
            }
        }
        assert!(gridded > 200, "{gridded}");
        // Sums of any size and sign at any position of the range.
        for lo in [0u32, 1, 31, 32, 33, 925, 1074, 1950, 2046] {
            for units in [
                1i128,
                -1,
                3 << 40,
                i128::MAX,
                -i128::MAX,
                rng.next() as i128 * -12345,
            ] {
                let mut s = ExactSum::default();
                s.push_f64(1.0);
                s.add_units(units, Grid { lo });
                let want = (BigInt::from(units) << lo as usize) + (BigInt::from(1) << 1074usize);
                assert_eq!(state_value(&s), want, "{units} at {lo}");
            }
        }
        assert_eq!(Grid::of_f64(&[1.0, f64::INFINITY]), None);
        assert_eq!(Grid::of_f32(&[f32::NAN]), None);
        assert_eq!(Grid::of_f64(&[1.0, p2(-80)]), None);
        assert!(Grid::of_f64(&[1.0, p2(-70)]).is_some());
        assert!(Grid::of_f64(&[0.0, -0.0]).is_some());
        assert!(Grid::of_f64(&vec![1.0; GRID_MAX_LEN + 1]).is_none());
    }

    /// The one-division mean, where it answers, is the exact quotient's rounding: on random sums
    /// and counts, and on quotients made to be (or come within an ulp of) midpoints of f32 and f16.
    #[test]
    fn quick_mean_is_the_exact_mean() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        let mut answered = 0;
        for i in 0..200_000 {
            let n = match rng.pick(4) {
                0 => 1 + rng.pick(16),
                1 => 1 + rng.pick(1 << 20),
                2 => 1 + rng.pick(1 << 53),
                _ => 3,
            };
            let x = match i % 3 {
                0 => {
                    // A random f64 with a random number of trailing zero bits.
                    let m = (rng.next() >> 11 | 1 << 52) >> rng.pick(53);
                    m as f64 * p2(rng.pick(400) as i32 - 200)
                }
                1 => {
                    // n times a midpoint of f32 or f16, or next to one.
                    let (p, e) = if rng.pick(2) == 0 { (24, 30) } else { (11, 8) };
                    let mid = ((1u64 << p) + rng.pick(1 << p) * 2 + 1) as f64;
                    let off = [0.0, 1.0, -1.0][rng.pick(3) as usize] * p2(-40);
                    (mid + off) * p2(rng.pick(e) as i32 - p - e as i32 / 2) * n as f64
                }
                _ => rng.unit() * p2(rng.pick(2000) as i32 - 1000),
            };
            let mut sum = ExactSum::default();
            sum.push_f64(if rng.pick(2) == 0 { x } else { -x });
            let (neg, mag) = sum.magnitude();
            for f in [&F64, &F32, &F16] {
                if let Some(q) = quick_div_count(neg, &mag, -1074, n, f) {
                    answered += 1;
                    assert_eq!(q, round_quotient(neg, &mag, &[n], -1074, f), "{x:e} / {n}");
                }
            }
        }
        assert!(answered > 200_000, "{answered}");
    }
}
