//! The numeric operators and functions of the language (§2, §5, §7).
//!
//! Every function here has one fixed meaning on every platform, so a peer
//! running a stage natively and a peer running it in WebAssembly compute the
//! same bits. docs/runtime.md is the user-facing statement of the same rules.
//!
//! # `int`
//! `int` is a 64-bit two's complement integer and every operation on it is
//! checked: a result that does not fit is a [`RuntimeError::IntOverflow`]
//! naming the operator, never a wrap-around.
//! - `/` truncates toward zero; `%` is the matching remainder, so its sign
//!   follows the dividend (`-7 % 2 == -1`, `7 % -2 == 1`) and
//!   `a == (a / b) * b + a % b` always holds.
//! - A zero divisor of `/` or `%` is a [`RuntimeError::DivisionByZero`].
//! - `i64::MIN / -1` overflows; `i64::MIN % -1` is `0`, its exact value (the
//!   WebAssembly `i64.rem_s` instruction gives the same).
//! - `-i64::MIN` and `abs(i64::MIN)` overflow.
//!
//! # `float`
//! `float` is IEEE-754 binary64 and follows IEEE: no float operation is an
//! error; NaN and infinities flow through. The transcendental functions come
//! from the `libm` crate, a pure Rust port of musl's libm, rather than from
//! the platform, because the platform's `exp` or `pow` may differ in the last
//! bit between operating systems and WebAssembly has no such instructions.
//! - `sqrt(x)`: correctly rounded; `sqrt(-0.0) == -0.0`, negative → NaN.
//! - `pow(x, y)`: C99 `pow`: `pow(x, 0.0) == 1.0` even for NaN `x`,
//!   `pow(1.0, y) == 1.0` even for NaN `y`, `pow(-8.0, 1.0 / 3.0)` is NaN.
//! - `exp(x)`: overflows to `inf` above about 709.78, `exp(-inf) == 0.0`.
//! - `ln(x)`: `ln(0.0) == -inf`, negative → NaN, `ln(inf) == inf`.
//! - `abs(x)` clears the sign bit: `abs(-0.0) == 0.0`, `abs(NaN)` is NaN.
//! - `a % b` on floats is the C `fmod`: the sign follows the dividend, a zero
//!   divisor or infinite dividend gives NaN.
//!
//! # Conversions
//! - `float(i)` rounds to the nearest float, ties to even (exact up to 2^53).
//! - `int(x)` truncates toward zero; `floor`, `ceil` round down and up;
//!   `round` rounds half away from zero (`round(2.5) == 3`,
//!   `round(-2.5) == -3`). The result must be an `int`: NaN, infinities and
//!   values outside `-2^63 ..< 2^63` are a [`RuntimeError::FloatToInt`] naming
//!   the function.
//!
//! # `min` and `max` of two values
//! The natural order of [`Value`] decides, which is total: for floats `-0.0`
//! is below `0.0` and NaN above everything, so `min(NaN, 1.0) == 1.0` and
//! `max(NaN, 1.0)` is NaN. When the two are equal in that order the first is
//! returned (they are then identical anyway).

use crate::error::{Result, RuntimeError};
use crate::text::float_to_str;
use crate::value::{Value, float_cmp};
use core::cmp::Ordering;

fn overflow(operation: &'static str) -> RuntimeError {
    RuntimeError::IntOverflow { operation }
}

/// `a + b` on `int`.
pub fn int_add(a: i64, b: i64) -> Result<i64> {
    a.checked_add(b).ok_or_else(|| overflow("+"))
}

/// `a - b` on `int`.
pub fn int_sub(a: i64, b: i64) -> Result<i64> {
    a.checked_sub(b).ok_or_else(|| overflow("-"))
}

/// `a * b` on `int`.
pub fn int_mul(a: i64, b: i64) -> Result<i64> {
    a.checked_mul(b).ok_or_else(|| overflow("*"))
}

/// `a / b` on `int`: truncating division.
pub fn int_div(a: i64, b: i64) -> Result<i64> {
    if b == 0 {
        return Err(RuntimeError::DivisionByZero { operation: "/" });
    }
    a.checked_div(b).ok_or_else(|| overflow("/"))
}

/// `a % b` on `int`: the remainder of truncating division (sign of `a`).
pub fn int_rem(a: i64, b: i64) -> Result<i64> {
    if b == 0 {
        return Err(RuntimeError::DivisionByZero { operation: "%" });
    }
    // `checked_rem` refuses `i64::MIN % -1` although the exact result, 0,
    // fits; `wrapping_rem` returns it.
    Ok(a.wrapping_rem(b))
}

/// `-a` on `int`.
pub fn int_neg(a: i64) -> Result<i64> {
    a.checked_neg().ok_or_else(|| overflow("negation"))
}

/// `abs(a)` on `int`.
pub fn int_abs(a: i64) -> Result<i64> {
    a.checked_abs().ok_or_else(|| overflow("abs"))
}

/// `abs(x)` on `float`.
pub fn float_abs(x: f64) -> f64 {
    libm::fabs(x)
}

/// `a % b` on `float`.
pub fn float_rem(a: f64, b: f64) -> f64 {
    libm::fmod(a, b)
}

/// `sqrt(x)`.
pub fn sqrt(x: f64) -> f64 {
    libm::sqrt(x)
}

/// `pow(x, y)`.
pub fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// `exp(x)`.
pub fn exp(x: f64) -> f64 {
    libm::exp(x)
}

/// `ln(x)`.
pub fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// `float(i)`.
pub fn int_to_float(i: i64) -> f64 {
    i as f64
}

/// 2^63 as a float: the first float above every `int`.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Converts an already integral float to `int`, or explains why it cannot.
fn integral_to_int(integral: f64, original: f64, operation: &'static str) -> Result<i64> {
    // `-2^63` is an `int`; `2^63` is not. NaN fails both comparisons.
    if (-TWO_POW_63..TWO_POW_63).contains(&integral) {
        // The value is integral and in range, so the cast is exact.
        Ok(integral as i64)
    } else {
        Err(RuntimeError::FloatToInt {
            operation,
            value: float_to_str(original),
        })
    }
}

/// `int(x)`: truncation toward zero.
pub fn float_to_int(x: f64) -> Result<i64> {
    integral_to_int(libm::trunc(x), x, "int")
}

/// `floor(x)`.
pub fn floor(x: f64) -> Result<i64> {
    integral_to_int(libm::floor(x), x, "floor")
}

/// `ceil(x)`.
pub fn ceil(x: f64) -> Result<i64> {
    integral_to_int(libm::ceil(x), x, "ceil")
}

/// `round(x)`: to the nearest integer, halves away from zero.
pub fn round(x: f64) -> Result<i64> {
    integral_to_int(libm::round(x), x, "round")
}

/// `min(a, b)` on `int`.
pub fn int_min(a: i64, b: i64) -> i64 {
    a.min(b)
}

/// `max(a, b)` on `int`.
pub fn int_max(a: i64, b: i64) -> i64 {
    a.max(b)
}

/// `min(a, b)` on `float`, in the natural (total) order.
pub fn float_min(a: f64, b: f64) -> f64 {
    if float_cmp(b, a) == Ordering::Less {
        b
    } else {
        a
    }
}

/// `max(a, b)` on `float`, in the natural (total) order.
pub fn float_max(a: f64, b: f64) -> f64 {
    if float_cmp(b, a) == Ordering::Greater {
        b
    } else {
        a
    }
}

/// `min(a, b)` of any two values of one type, in natural order.
pub fn min_value(a: Value, b: Value) -> Value {
    if b < a { b } else { a }
}

/// `max(a, b)` of any two values of one type, in natural order.
pub fn max_value(a: Value, b: Value) -> Value {
    if b > a { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    #[test]
    fn int_arithmetic_is_checked() {
        assert_eq!(int_add(2, 3), Ok(5));
        assert_eq!(int_add(i64::MAX, 1), Err(overflow("+")));
        assert_eq!(int_sub(i64::MIN, 1), Err(overflow("-")));
        assert_eq!(int_mul(i64::MAX / 2 + 1, 2), Err(overflow("*")));
        assert_eq!(int_mul(-1, i64::MIN), Err(overflow("*")));
        assert_eq!(int_neg(i64::MIN), Err(overflow("negation")));
        assert_eq!(int_neg(i64::MAX), Ok(-i64::MAX));
    }

    #[test]
    fn division_truncates_and_remainder_follows_the_dividend() {
        assert_eq!(int_div(7, 2), Ok(3));
        assert_eq!(int_div(-7, 2), Ok(-3));
        assert_eq!(int_div(7, -2), Ok(-3));
        assert_eq!(int_rem(-7, 2), Ok(-1));
        assert_eq!(int_rem(7, -2), Ok(1));
        assert_eq!(int_rem(-7, -2), Ok(-1));
        assert_eq!(
            int_div(1, 0),
            Err(RuntimeError::DivisionByZero { operation: "/" })
        );
        assert_eq!(
            int_rem(1, 0),
            Err(RuntimeError::DivisionByZero { operation: "%" })
        );
        assert_eq!(int_div(i64::MIN, -1), Err(overflow("/")));
        assert_eq!(int_rem(i64::MIN, -1), Ok(0));
        assert_eq!(int_div(i64::MIN, 1), Ok(i64::MIN));
    }

    #[test]
    fn abs_of_the_smallest_int_overflows() {
        assert_eq!(int_abs(-5), Ok(5));
        assert_eq!(int_abs(i64::MIN), Err(overflow("abs")));
        assert_eq!(int_abs(i64::MIN + 1), Ok(i64::MAX));
        assert_eq!(float_abs(-0.0).to_bits(), 0.0f64.to_bits());
        assert!(float_abs(f64::NAN).is_nan());
        assert_eq!(float_abs(f64::NEG_INFINITY), f64::INFINITY);
    }

    #[test]
    fn transcendental_edge_cases() {
        assert_eq!(sqrt(16.0), 4.0);
        assert_eq!(sqrt(2.0), core::f64::consts::SQRT_2);
        assert_eq!(sqrt(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(sqrt(-1.0).is_nan());
        assert_eq!(pow(2.0, 10.0), 1024.0);
        assert_eq!(pow(f64::NAN, 0.0), 1.0);
        assert_eq!(pow(1.0, f64::NAN), 1.0);
        assert!(pow(-8.0, 1.0 / 3.0).is_nan());
        assert_eq!(pow(0.0, -1.0), f64::INFINITY);
        assert_eq!(exp(0.0), 1.0);
        // musl's `exp` is within one unit in the last place, not always
        // correctly rounded: `exp(1.0)` is one ulp above `E`. What matters
        // is that these bits are the same on every platform.
        assert_eq!(exp(1.0), 2.7182818284590455);
        assert_eq!(exp(1.0).to_bits(), core::f64::consts::E.to_bits() + 1);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(core::f64::consts::E), 1.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert_eq!(ln(f64::INFINITY), f64::INFINITY);
        assert_eq!(float_rem(-7.5, 2.0), -1.5);
        assert_eq!(float_rem(7.5, -2.0), 1.5);
        assert!(float_rem(1.0, 0.0).is_nan());
        assert!(float_rem(f64::INFINITY, 2.0).is_nan());
    }

    #[test]
    fn float_to_int_conversions() {
        assert_eq!(float_to_int(2.9), Ok(2));
        assert_eq!(float_to_int(-2.9), Ok(-2));
        assert_eq!(floor(-2.1), Ok(-3));
        assert_eq!(ceil(-2.9), Ok(-2));
        assert_eq!(ceil(2.1), Ok(3));
        assert_eq!(round(2.5), Ok(3));
        assert_eq!(round(-2.5), Ok(-3));
        assert_eq!(round(0.49999999999999994), Ok(0));
        assert_eq!(round(-0.4), Ok(0));
        assert_eq!(float_to_int(-9_223_372_036_854_775_808.0), Ok(i64::MIN));
        // The largest float below 2^63 converts; 2^63 does not.
        assert_eq!(
            float_to_int(9_223_372_036_854_774_784.0),
            Ok(9_223_372_036_854_774_784)
        );
        for (result, name) in [
            (float_to_int(TWO_POW_63), "int"),
            (floor(f64::NAN), "floor"),
            (ceil(f64::INFINITY), "ceil"),
            (round(f64::NEG_INFINITY), "round"),
            (round(-9.3e18), "round"),
        ] {
            match result {
                Err(RuntimeError::FloatToInt { operation, .. }) => assert_eq!(operation, name),
                other => panic!("{name}: expected a conversion error, got {other:?}"),
            }
        }
        // Just below -2^63 truncates back into range.
        assert_eq!(float_to_int(-9_223_372_036_854_775_808.5), Ok(i64::MIN));
        assert_eq!(
            float_to_int(f64::NAN).map_err(|e| e.to_string()),
            Err(alloc::string::String::from(
                "int(NaN) does not fit in an int"
            ))
        );
        assert_eq!(int_to_float(i64::MAX), TWO_POW_63);
        assert_eq!(int_to_float((1 << 53) + 1), (1u64 << 53) as f64);
    }

    #[test]
    fn two_argument_min_and_max_use_the_natural_order() {
        assert_eq!(int_min(3, -4), -4);
        assert_eq!(int_max(3, -4), 3);
        assert_eq!(float_min(f64::NAN, 1.0), 1.0);
        assert!(float_max(f64::NAN, 1.0).is_nan());
        assert_eq!(float_min(0.0, -0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(float_max(-0.0, 0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(
            min_value(Value::str("b"), Value::str("ab")),
            Value::str("ab")
        );
        assert_eq!(
            max_value(
                Value::Tuple(alloc::vec![Value::Int(1), Value::Bool(false)]),
                Value::Tuple(alloc::vec![Value::Int(1), Value::Bool(true)])
            ),
            Value::Tuple(alloc::vec![Value::Int(1), Value::Bool(true)])
        );
    }

    /// How many representable floats lie between `a` and `b`.
    fn ulps_apart(a: f64, b: f64) -> u64 {
        // Maps the floats onto a line of integers that is monotonic in
        // value, so the distance counts representable values.
        let line = |x: f64| {
            let bits = x.to_bits() as i64;
            if bits < 0 { i64::MIN - bits } else { bits }
        };
        line(a).abs_diff(line(b))
    }

    proptest! {
        #[test]
        fn sqrt_is_correctly_rounded(x in any::<f64>()) {
            // IEEE requires a correctly rounded square root, so the
            // platform's must agree bit for bit.
            let ours = sqrt(x);
            prop_assert!(ours.to_bits() == x.sqrt().to_bits() || (ours.is_nan() && x.sqrt().is_nan()));
        }

        #[test]
        fn transcendentals_are_within_one_ulp_of_the_platform(
            x in -700.0f64..700.0,
            base in 0.001f64..1000.0,
            exponent in -50.0f64..50.0,
        ) {
            prop_assert!(ulps_apart(exp(x), x.exp()) <= 1);
            prop_assert!(ulps_apart(ln(base), base.ln()) <= 1);
            prop_assert!(ulps_apart(pow(base, exponent), base.powf(exponent)) <= 1);
        }

        #[test]
        fn division_identity_holds(a in any::<i64>(), b in any::<i64>()) {
            match (int_div(a, b), int_rem(a, b)) {
                (Ok(q), Ok(r)) => {
                    prop_assert_eq!(q.wrapping_mul(b).wrapping_add(r), a);
                    prop_assert!(r == 0 || (r < 0) == (a < 0));
                    prop_assert!(r.unsigned_abs() < b.unsigned_abs());
                }
                (Err(_), _) => prop_assert!(b == 0 || (a == i64::MIN && b == -1)),
                (Ok(_), Err(_)) => prop_assert!(false, "remainder failed where division did not"),
            }
        }

        #[test]
        fn checked_ops_agree_with_wide_arithmetic(a in any::<i64>(), b in any::<i64>()) {
            let fits = |wide: i128| i64::try_from(wide).ok();
            prop_assert_eq!(int_add(a, b).ok(), fits(i128::from(a) + i128::from(b)));
            prop_assert_eq!(int_sub(a, b).ok(), fits(i128::from(a) - i128::from(b)));
            prop_assert_eq!(int_mul(a, b).ok(), fits(i128::from(a) * i128::from(b)));
        }

        #[test]
        fn conversions_never_panic_and_stay_close(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            for (result, integral) in [
                (float_to_int(x), libm::trunc(x)),
                (floor(x), libm::floor(x)),
                (ceil(x), libm::ceil(x)),
                (round(x), libm::round(x)),
            ] {
                if let Ok(n) = result {
                    prop_assert_eq!(n as f64, integral);
                    prop_assert!((integral - x).abs() <= 1.0);
                }
            }
        }
    }
}
