//! Correctly rounded float sums and means, independent of order and grouping.
//!
//! [`ExactSum`] is a fixed-point superaccumulator: it holds the exact sum of
//! every finite float added, as a big integer multiple of 2^-1074 (the
//! smallest subnormal), so addition is exact and therefore associative and
//! commutative. Only [`ExactSum::round`] (or [`ExactSum::mean`]) rounds,
//! once, to nearest with ties to even. The result is thus the same bits
//! whatever the order of the additions and however the stream was split and
//! merged.
//!
//! # Representation
//!
//! `LIMBS` signed 64-bit limbs, limb `i` weighing 2^(32·i − 1074). Each limb
//! normally holds a 32-bit digit; additions put up to 32 bits into three
//! limbs without propagating carries, and carries are propagated
//! ("normalised") every 2^29 additions, well before a limb could overflow.
//! After normalisation every limb but the top one is in `[0, 2^32)` and the
//! top one carries the sign, which makes the normalised form unique.
//! The limbs cover magnitudes up to 2^1230, so more than 2^200 additions of
//! the largest finite float fit.
//!
//! # Special values (IEEE-754)
//!
//! NaN anywhere gives NaN; `+inf` and `-inf` together give NaN; otherwise an
//! infinity gives that infinity. An exact sum too large for a float rounds
//! to an infinity. An exact zero is `-0.0` when every addend was `-0.0`
//! (at least one), and `+0.0` otherwise, as IEEE addition gives. The NaN
//! produced is the canonical quiet NaN `0x7ff8000000000000`.
//!
//! # Mean
//!
//! [`ExactSum::mean`] divides the exact sum by an integer count with a long
//! division that keeps the remainder as a sticky bit, so the mean too is
//! rounded once, correctly.
//!
//! # Encoding
//!
//! A flags byte (bit 0 NaN seen, bit 1 `+inf` seen, bit 2 `-inf` seen,
//! bit 3 at least one addend, bit 4 an addend other than `-0.0`, bit 5 the
//! finite sum is negative), then the finite sum's magnitude: a varint index
//! of its lowest non-zero 32-bit digit and a varint digit count (0 for
//! zero), then the digits as little-endian `u32`s, lowest first. The lowest
//! and highest digits are non-zero, so the encoding is canonical.

use crate::encode::{Reader, put_varint};
use crate::error::{Result, RuntimeError};
use alloc::vec::Vec;

const LIMBS: usize = 72;
/// The limb holding 2^0 (bit 1074 = 33·32 + 18).
const UNIT_SHIFT: u32 = 1074;
/// Additions between carry propagations; each adds less than 2^32 per limb.
const MAX_PENDING: u32 = 1 << 29;
/// Decoded magnitudes must leave the top limbs free, so merges cannot
/// overflow them.
const MAX_ENCODED_LIMB: usize = LIMBS - 2;

const FLAG_NAN: u8 = 1;
const FLAG_POS_INF: u8 = 2;
const FLAG_NEG_INF: u8 = 4;
const FLAG_NONEMPTY: u8 = 8;
const FLAG_NOT_NEG_ZERO: u8 = 16;
const FLAG_NEGATIVE: u8 = 32;
const CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;
const INFINITY_BITS: u64 = 0x7ff0_0000_0000_0000;

/// The exact sum of a multiset of floats (and integers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExactSum {
    limbs: [i64; LIMBS],
    pending: u32,
    /// `FLAG_*` bits other than `FLAG_NEGATIVE`.
    flags: u8,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl ExactSum {
    /// The empty sum.
    pub fn new() -> Self {
        ExactSum {
            limbs: [0; LIMBS],
            pending: 0,
            flags: 0,
        }
    }

    /// Adds `magnitude · 2^(shift − 1074)` with the given sign.
    fn add_scaled(&mut self, magnitude: u64, shift: u32, negative: bool) {
        if self.pending >= MAX_PENDING {
            self.normalize();
        }
        self.pending += 1;
        let index = (shift / 32) as usize;
        let wide = u128::from(magnitude) << (shift % 32);
        for offset in 0..3 {
            let digit = ((wide >> (32 * offset)) & 0xffff_ffff) as i64;
            if let Some(limb) = self.limbs.get_mut(index + offset) {
                if negative {
                    *limb -= digit;
                } else {
                    *limb += digit;
                }
            }
        }
    }

    /// Whether nothing was ever added.
    pub fn is_empty(&self) -> bool {
        self.flags & FLAG_NONEMPTY == 0
    }

    /// Adds one float.
    pub fn add(&mut self, x: f64) {
        self.flags |= FLAG_NONEMPTY;
        let bits = x.to_bits();
        if bits != 0x8000_0000_0000_0000 {
            self.flags |= FLAG_NOT_NEG_ZERO;
        }
        let negative = bits >> 63 == 1;
        let exponent = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1 << 52) - 1);
        if exponent == 0x7ff {
            self.flags |= if fraction != 0 {
                FLAG_NAN
            } else if negative {
                FLAG_NEG_INF
            } else {
                FLAG_POS_INF
            };
            return;
        }
        if exponent == 0 {
            if fraction != 0 {
                self.add_scaled(fraction, 0, negative);
            }
        } else {
            self.add_scaled(fraction | (1 << 52), exponent - 1, negative);
        }
    }

    /// Adds one integer exactly.
    pub fn add_int(&mut self, n: i64) {
        self.flags |= FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO;
        if n != 0 {
            self.add_scaled(n.unsigned_abs(), UNIT_SHIFT, n < 0);
        }
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: &ExactSum) {
        self.normalize();
        let mut other = other.clone();
        other.normalize();
        for (limb, add) in self.limbs.iter_mut().zip(other.limbs.iter()) {
            *limb += *add;
        }
        self.pending = 1;
        self.flags |= other.flags;
    }

    /// Propagates carries so every limb but the top is in `[0, 2^32)`.
    fn normalize(&mut self) {
        let mut carry: i64 = 0;
        let top = LIMBS - 1;
        for limb in &mut self.limbs[..top] {
            let v = *limb + carry;
            *limb = v & 0xffff_ffff;
            carry = v >> 32;
        }
        self.limbs[top] = self.limbs[top].saturating_add(carry);
        self.pending = 0;
    }

    /// The sign and 32-bit digits of the finite part of the sum.
    fn sign_and_digits(&self) -> (bool, [u32; LIMBS]) {
        let mut copy = self.clone();
        copy.normalize();
        let negative = copy.limbs[LIMBS - 1] < 0;
        if negative {
            for limb in &mut copy.limbs {
                *limb = -*limb;
            }
            copy.normalize();
        }
        let mut digits = [0u32; LIMBS];
        for (digit, limb) in digits.iter_mut().zip(copy.limbs.iter()) {
            // Only the top limb can exceed 32 bits, after more merges of
            // huge sums than can happen; saturating keeps it an infinity.
            *digit = u32::try_from(*limb).unwrap_or(u32::MAX);
        }
        (negative, digits)
    }

    /// The non-finite result, if any.
    fn special(&self) -> Option<f64> {
        let pos = self.flags & FLAG_POS_INF != 0;
        let neg = self.flags & FLAG_NEG_INF != 0;
        if self.flags & FLAG_NAN != 0 || (pos && neg) {
            Some(f64::from_bits(CANONICAL_NAN))
        } else if pos {
            Some(f64::INFINITY)
        } else if neg {
            Some(f64::NEG_INFINITY)
        } else {
            None
        }
    }

    fn zero(&self) -> f64 {
        if self.flags & (FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO) == FLAG_NONEMPTY {
            -0.0
        } else {
            0.0
        }
    }

    /// The sum, correctly rounded to nearest, ties to even.
    pub fn round(&self) -> f64 {
        if let Some(special) = self.special() {
            return special;
        }
        let (negative, digits) = self.sign_and_digits();
        match round_digits(&digits, 0, false) {
            0 => self.zero(),
            bits => with_sign(bits, negative),
        }
    }

    /// The sum divided by `count`, correctly rounded; NaN when `count` is 0.
    pub fn mean(&self, count: u64) -> f64 {
        if count == 0 {
            return f64::from_bits(CANONICAL_NAN);
        }
        if let Some(special) = self.special() {
            return special;
        }
        let (negative, digits) = self.sign_and_digits();
        // Three extra digits below 2^-1074 give the quotient room below the
        // rounding position; the remainder becomes the sticky bit.
        const EXTRA: usize = 3;
        let mut quotient = [0u32; LIMBS + EXTRA];
        let mut remainder: u128 = 0;
        for index in (0..LIMBS + EXTRA).rev() {
            let digit = if index >= EXTRA {
                digits[index - EXTRA]
            } else {
                0
            };
            let current = (remainder << 32) | u128::from(digit);
            quotient[index] = (current / u128::from(count)) as u32;
            remainder = current % u128::from(count);
        }
        match round_digits(&quotient, 32 * EXTRA as u32, remainder != 0) {
            0 => self.zero(),
            bits => with_sign(bits, negative),
        }
    }

    /// Appends the canonical encoding described in the module doc.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (negative, digits) = self.sign_and_digits();
        let low = digits.iter().position(|d| *d != 0);
        let high = digits.iter().rposition(|d| *d != 0);
        let mut flags = self.flags;
        match (low, high) {
            (Some(low), Some(high)) => {
                if negative {
                    flags |= FLAG_NEGATIVE;
                }
                out.push(flags);
                put_varint(out, low as u64);
                put_varint(out, (high - low + 1) as u64);
                for digit in &digits[low..=high] {
                    out.extend_from_slice(&digit.to_le_bytes());
                }
            }
            _ => {
                out.push(flags);
                put_varint(out, 0);
                put_varint(out, 0);
            }
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Decodes an encoding, validating that it is canonical.
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<ExactSum> {
        let start = reader.position();
        let flags = reader.byte()?;
        if flags & !63 != 0 {
            return Err(RuntimeError::malformed("unknown exact-sum flags", start));
        }
        let low = reader.varint()?;
        let count = reader.count(4)?;
        let mut sum = ExactSum::new();
        sum.flags = flags & !FLAG_NEGATIVE;
        let nonempty = flags & FLAG_NONEMPTY != 0;
        let not_neg_zero = flags & FLAG_NOT_NEG_ZERO != 0;
        let special = flags & (FLAG_NAN | FLAG_POS_INF | FLAG_NEG_INF) != 0;
        if (not_neg_zero && !nonempty) || (special && !not_neg_zero) {
            return Err(RuntimeError::malformed(
                "inconsistent exact-sum flags",
                start,
            ));
        }
        if count == 0 {
            if low != 0 || flags & FLAG_NEGATIVE != 0 {
                return Err(RuntimeError::malformed(
                    "non-canonical zero exact sum",
                    start,
                ));
            }
            return Ok(sum);
        }
        if !not_neg_zero {
            return Err(RuntimeError::malformed(
                "inconsistent exact-sum flags",
                start,
            ));
        }
        let low = usize::try_from(low)
            .ok()
            .filter(|low| low.saturating_add(count) <= MAX_ENCODED_LIMB)
            .ok_or_else(|| RuntimeError::malformed("exact sum out of range", start))?;
        let negative = flags & FLAG_NEGATIVE != 0;
        for index in 0..count {
            let digit = reader.u32_le()?;
            if digit == 0 && (index == 0 || index + 1 == count) {
                return Err(RuntimeError::malformed(
                    "non-canonical exact-sum digits",
                    start,
                ));
            }
            let digit = i64::from(digit);
            sum.limbs[low + index] = if negative { -digit } else { digit };
        }
        sum.pending = 1;
        sum.normalize();
        Ok(sum)
    }

    /// Decodes a whole buffer holding one encoding.
    pub fn decode(bytes: &[u8]) -> Result<ExactSum> {
        let mut reader = Reader::new(bytes);
        let sum = Self::decode_from(&mut reader)?;
        reader.finish()?;
        Ok(sum)
    }
}

fn with_sign(bits: u64, negative: bool) -> f64 {
    f64::from_bits(bits | (u64::from(negative) << 63))
}

fn bit(digits: &[u32], index: u64) -> bool {
    digits
        .get((index / 32) as usize)
        .is_some_and(|d| (d >> (index % 32)) & 1 == 1)
}

/// Whether any bit below `index` is set.
fn any_below(digits: &[u32], index: u64) -> bool {
    let whole = (index / 32) as usize;
    if digits.iter().take(whole).any(|d| *d != 0) {
        return true;
    }
    let partial_bits = index % 32;
    partial_bits > 0
        && digits
            .get(whole)
            .is_some_and(|d| d & ((1u32 << partial_bits) - 1) != 0)
}

/// The unsigned float bits nearest to `digits · 2^(−1074 − scale)`, where
/// `sticky` says the true value is slightly above the digits. Ties to even;
/// too large gives infinity.
fn round_digits(digits: &[u32], scale: u32, sticky: bool) -> u64 {
    let Some(top_digit) = digits.iter().rposition(|d| *d != 0) else {
        return 0;
    };
    let highest = top_digit as u64 * 32 + u64::from(31 - digits[top_digit].leading_zeros());
    let shift = highest.saturating_sub(52).max(u64::from(scale));
    let mut mantissa: u64 = 0;
    for index in (shift..=highest.max(shift)).rev() {
        mantissa = (mantissa << 1) | u64::from(bit(digits, index));
    }
    if shift > 0 {
        let round = bit(digits, shift - 1);
        let sticky = sticky || any_below(digits, shift - 1);
        if round && (sticky || mantissa & 1 == 1) {
            mantissa += 1;
        }
    }
    let exponent = shift - u64::from(scale);
    if exponent >= 0x7ff {
        return INFINITY_BITS;
    }
    let bits = (exponent << 52) + mantissa;
    bits.min(INFINITY_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum_of(xs: &[f64]) -> f64 {
        let mut acc = ExactSum::new();
        for x in xs {
            acc.add(*x);
        }
        acc.round()
    }

    /// Shewchuk's exact partials with Python's `math.fsum` final rounding,
    /// written from the algorithm's description; valid when no partial
    /// overflows.
    fn fsum_oracle(xs: &[f64]) -> f64 {
        let mut partials: Vec<f64> = Vec::new();
        for &x0 in xs {
            let mut x = x0;
            let mut kept = 0;
            for index in 0..partials.len() {
                let mut y = partials[index];
                if x.abs() < y.abs() {
                    core::mem::swap(&mut x, &mut y);
                }
                let hi = x + y;
                let lo = y - (hi - x);
                if lo != 0.0 {
                    partials[kept] = lo;
                    kept += 1;
                }
                x = hi;
            }
            partials.truncate(kept);
            partials.push(x);
        }
        let mut n = partials.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            let y = partials[n - 1];
            n -= 1;
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }

    fn arb_float() -> impl Strategy<Value = f64> {
        prop_oneof![
            // Anything finite below 2^1000, subnormals included.
            (any::<bool>(), 0u64..0x7e70_0000_0000_0000)
                .prop_map(|(neg, bits)| with_sign(bits, neg)),
            // Values of similar magnitude, where cancellation happens.
            (-1.0e6f64..1.0e6f64),
            (-4i32..4).prop_map(|k| f64::from(k) * 0.1),
        ]
    }

    #[test]
    fn simple_sums() {
        assert_eq!(sum_of(&[]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[0.1, 0.2, 0.3]), 0.6);
        assert_eq!(sum_of(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum_of(&[1.0, 1e-16, 1e-16]), 1.0000000000000002);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert_eq!(
            sum_of(&[f64::from_bits(1), f64::from_bits(1)]),
            f64::from_bits(2)
        );
        assert_eq!(sum_of(&[-0.0]).to_bits(), (-0.0f64).to_bits());
        assert_eq!(sum_of(&[-0.0, 0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[1.0, -1.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[-2.5, 1.0]), -1.5);
    }

    #[test]
    fn special_values_follow_ieee() {
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert!(sum_of(&[1.0, f64::NAN]).is_nan());
        assert_eq!(sum_of(&[f64::INFINITY, 1.0]), f64::INFINITY);
        assert_eq!(sum_of(&[f64::NEG_INFINITY, f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(sum_of(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
    }

    #[test]
    fn ties_round_to_even() {
        // 2^53 + 1 is halfway between 2^53 and 2^53 + 2: ties to even.
        let two53 = 9007199254740992.0;
        assert_eq!(sum_of(&[two53, 1.0]), two53);
        assert_eq!(sum_of(&[two53, 1.0, 1e-300]), two53 + 2.0);
        assert_eq!(sum_of(&[two53 + 2.0, 1.0]), two53 + 4.0);
    }

    #[test]
    fn integers_add_exactly() {
        let mut acc = ExactSum::new();
        acc.add_int(i64::MAX);
        acc.add_int(i64::MAX);
        acc.add_int(i64::MIN);
        acc.add(0.5);
        assert_eq!(acc.round(), 9223372036854775807.0);
        assert_eq!(acc.mean(2), 4611686018427387904.0);
    }

    #[test]
    fn means_round_once() {
        let mut acc = ExactSum::new();
        for x in [1.0, 2.0, 4.0] {
            acc.add(x);
        }
        assert_eq!(acc.mean(3), 7.0 / 3.0);
        let mut acc = ExactSum::new();
        acc.add(f64::MAX);
        acc.add(f64::MAX);
        assert_eq!(acc.mean(2), f64::MAX);
        let mut tiny = ExactSum::new();
        tiny.add(f64::from_bits(3));
        assert_eq!(tiny.mean(2), f64::from_bits(2));
        assert_eq!(tiny.mean(6), f64::from_bits(0));
        assert!(ExactSum::new().mean(0).is_nan());
    }

    #[test]
    fn encoding_rejects_garbage() {
        assert!(ExactSum::decode(&[]).is_err());
        assert!(ExactSum::decode(&[0x40, 0, 0]).is_err());
        assert!(ExactSum::decode(&[FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(ExactSum::decode(&[FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO, 80, 1, 1, 0, 0, 0]).is_err());
        assert!(ExactSum::decode(&[FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO, 0, 2, 1, 0, 0, 0]).is_err());
        assert!(ExactSum::decode(&[FLAG_NEGATIVE, 0, 0]).is_err());
        let ok = [FLAG_NONEMPTY | FLAG_NOT_NEG_ZERO, 33, 1, 0, 0, 4, 0];
        assert_eq!(ExactSum::decode(&ok).unwrap().round(), 1.0);
    }

    /// A correctly rounded mean, checked against both neighbouring floats
    /// with exact integer arithmetic; inputs are integers.
    fn assert_mean_correct(total: i128, count: u64, mean: f64) {
        let exact = |x: f64| -> (i128, i32) {
            let bits = x.to_bits();
            let exponent = ((bits >> 52) & 0x7ff) as i32;
            let fraction = (bits & ((1 << 52) - 1)) as i128;
            let (m, e) = if exponent == 0 {
                (fraction, -1074)
            } else {
                (fraction | 1 << 52, exponent - 1075)
            };
            (if bits >> 63 == 1 { -m } else { m }, e)
        };
        let candidates = [
            f64::from_bits(mean.to_bits().wrapping_sub(1)),
            mean,
            f64::from_bits(mean.to_bits() + 1),
        ];
        let scaled: Vec<(i128, i32)> = candidates.iter().map(|c| exact(*c)).collect();
        let lowest = scaled.iter().map(|(_, e)| *e).min().unwrap().min(0);
        // |candidate · count − total| · 2^-lowest, as integers.
        let error = |(m, e): (i128, i32)| {
            (m * count as i128 * (1i128 << (e - lowest)) - (total << -lowest)).abs()
        };
        let best = error(scaled[1]);
        assert!(
            best <= error(scaled[0]) && best <= error(scaled[2]),
            "{total}/{count} gave {mean}"
        );
        if best == error(scaled[0]) || best == error(scaled[2]) {
            assert_eq!(scaled[1].0 & 1, 0, "tie not to even");
        }
    }

    proptest! {
        #[test]
        fn sum_matches_fsum(xs in proptest::collection::vec(arb_float(), 0..40)) {
            let (ours, oracle) = (sum_of(&xs), fsum_oracle(&xs));
            // The oracle's zero sign follows its partials, not IEEE addition
            // of the inputs, so only non-zero results compare bit for bit.
            if oracle == 0.0 {
                prop_assert_eq!(ours, 0.0);
            } else {
                prop_assert_eq!(ours.to_bits(), oracle.to_bits());
            }
        }

        #[test]
        fn sum_of_scaled_integers_matches_i128(ks in proptest::collection::vec(-(1i64 << 53)..(1i64 << 53), 1..30), scale in -1000i32..900) {
            // Each addend k·2^scale is exact (|k| < 2^53, normal range), so
            // the exact sum is total·2^scale; the i128 → f64 cast rounds to
            // nearest even and the power-of-two scaling is exact.
            let mut acc = ExactSum::new();
            let mut total: i128 = 0;
            for k in &ks {
                acc.add(*k as f64 * pow2(scale));
                total += i128::from(*k);
            }
            prop_assert_eq!(acc.round().to_bits(), (total as f64 * pow2(scale)).to_bits());
        }

        #[test]
        fn order_and_grouping_do_not_matter(
            xs in proptest::collection::vec(prop_oneof![arb_float(), Just(f64::INFINITY), Just(f64::MAX)], 0..60),
            seed in any::<u64>(),
        ) {
            let expected = sum_of(&xs);
            let mut shuffled = xs.clone();
            shuffle(&mut shuffled, seed);
            let tree = merge_tree(&shuffled, seed);
            prop_assert_eq!(tree.round().to_bits(), expected.to_bits());
            let mut direct = ExactSum::new();
            for x in &xs { direct.add(*x); }
            prop_assert_eq!(tree.encode(), direct.encode());
            prop_assert_eq!(ExactSum::decode(&tree.encode()).unwrap().encode(), tree.encode());
            prop_assert_eq!(tree.mean(xs.len().max(1) as u64).to_bits(), direct.mean(xs.len().max(1) as u64).to_bits());
        }

        #[test]
        fn int_means_are_correctly_rounded(ks in proptest::collection::vec(-(1i64 << 40)..(1i64 << 40), 1..100)) {
            let mut acc = ExactSum::new();
            for k in &ks { acc.add_int(*k); }
            let total: i128 = ks.iter().map(|k| i128::from(*k)).sum();
            let mean = acc.mean(ks.len() as u64);
            if total == 0 {
                prop_assert_eq!(mean.to_bits(), 0);
            } else {
                assert_mean_correct(total, ks.len() as u64, mean);
            }
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(sum) = ExactSum::decode(&bytes) {
                prop_assert_eq!(sum.encode(), bytes);
            }
        }
    }

    fn pow2(e: i32) -> f64 {
        f64::from_bits(((1023 + e) as u64) << 52)
    }

    fn shuffle(xs: &mut [f64], seed: u64) {
        let mut state = seed;
        for i in (1..xs.len()).rev() {
            state = crate::table::splitmix64(state);
            let j = (state % (i as u64 + 1)) as usize;
            xs.swap(i, j);
        }
    }

    fn merge_tree(xs: &[f64], seed: u64) -> ExactSum {
        if xs.len() <= 2 {
            let mut acc = ExactSum::new();
            for x in xs {
                acc.add(*x);
            }
            return acc;
        }
        let cut = (crate::table::splitmix64(seed) % xs.len() as u64) as usize;
        let mut left = merge_tree(&xs[..cut], seed.wrapping_mul(3).wrapping_add(1));
        let right = merge_tree(&xs[cut..], seed.wrapping_mul(5).wrapping_add(7));
        if seed & 1 == 0 {
            left.merge(&right);
            left
        } else {
            let mut right = right;
            right.merge(&left);
            right
        }
    }

    #[test]
    fn merging_after_many_additions_stays_exact() {
        let mut acc = ExactSum::new();
        acc.pending = MAX_PENDING - 2;
        for _ in 0..10 {
            acc.add(f64::MAX);
        }
        for _ in 0..10 {
            acc.add(-f64::MAX);
        }
        acc.add(1.0);
        assert_eq!(acc.round(), 1.0);
    }
}
