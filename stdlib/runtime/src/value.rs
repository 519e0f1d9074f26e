//! Runtime values and their natural order.
//!
//! A [`Value`] is the dynamic form of any Flow value: partial results, hash
//! table keys and final outputs are built from it. Records carry their fields
//! in declared order without names: the static type knows the names.
//!
//! # Natural order
//!
//! [`Value`]'s `Ord` is the natural order of §2 of the language, made total
//! so that sorting, `top`, `min` and `distinct` give the same answer however
//! the input was split:
//! - `int` numerically; `false < true`; `str` by UTF-8 bytes.
//! - `float` numerically, with two refinements that make the order total and
//!   consistent with the canonical encoding (two values are equal exactly
//!   when their encodings are equal): `-0.0 < +0.0`, and every NaN is greater
//!   than every other float (`+inf` included); NaNs compare among themselves
//!   by their raw bit pattern as an unsigned integer.
//! - lists, tuples and records lexicographically by elements/fields, a proper
//!   prefix before the longer value.
//! - values of different kinds (which a well-typed program never compares)
//!   order by kind: int, float, bool, str, list, tuple, record.

use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

/// A Flow value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A 64-bit signed integer.
    Int(i64),
    /// An IEEE-754 binary64 float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// UTF-8 text.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// A record's fields in declared order.
    Record(Vec<Value>),
}

impl Value {
    /// The rank of the value's kind, for comparing values of different kinds.
    fn kind_rank(&self) -> u8 {
        match self {
            Value::Int(_) => 0,
            Value::Float(_) => 1,
            Value::Bool(_) => 2,
            Value::Str(_) => 3,
            Value::List(_) => 4,
            Value::Tuple(_) => 5,
            Value::Record(_) => 6,
        }
    }

    /// The name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Record(_) => "record",
        }
    }

    /// A `str` value.
    pub fn str(text: &str) -> Value {
        Value::Str(String::from(text))
    }
}

/// The natural total order of floats described in the module doc.
pub fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => a.to_bits().cmp(&b.to_bits()),
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        // `total_cmp` orders non-NaN floats numerically with -0.0 < +0.0.
        (false, false) => a.total_cmp(&b),
    }
}

fn seq_cmp(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = x.cmp(y);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => float_cmp(*a, *b),
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Str(a), Value::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::List(a), Value::List(b))
            | (Value::Tuple(a), Value::Tuple(b))
            | (Value::Record(a), Value::Record(b)) => seq_cmp(a, b),
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn floats_order_totally() {
        let ordered = [
            f64::NEG_INFINITY,
            -1.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::from_bits(1),
            2.0,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for (i, a) in ordered.iter().enumerate() {
            for (j, b) in ordered.iter().enumerate() {
                assert_eq!(float_cmp(*a, *b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn scalars_and_sequences_order_naturally() {
        assert!(Value::Bool(false) < Value::Bool(true));
        assert!(Value::Int(-3) < Value::Int(2));
        assert!(Value::str("Z") < Value::str("a"));
        assert!(Value::str("ab") < Value::str("abc"));
        assert!(Value::str("é") > Value::str("z"));
        let short = Value::List(vec![Value::Int(1)]);
        let long = Value::List(vec![Value::Int(1), Value::Int(0)]);
        assert!(short < long);
        let a = Value::Tuple(vec![Value::str("a"), Value::Int(9)]);
        let b = Value::Tuple(vec![Value::str("b"), Value::Int(1)]);
        assert!(a < b);
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
        assert_ne!(Value::Float(0.0), Value::Float(-0.0));
    }
}
