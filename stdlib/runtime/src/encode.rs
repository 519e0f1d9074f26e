//! The canonical byte encoding of values, and the reader of untrusted bytes.
//!
//! Partial results, hash table keys and final values travel as bytes. The
//! encoding is deterministic (one value has exactly one encoding, identical
//! on every platform) and compact. Each value is a one-byte tag and a
//! payload:
//!
//! | tag    | value          | payload                                              |
//! |--------|----------------|------------------------------------------------------|
//! | `0x01` | `int`          | zigzag-encoded LEB128 varint                         |
//! | `0x02` | `float`        | 8 bytes: the IEEE-754 bits, little-endian            |
//! | `0x03` | `false`        | none                                                 |
//! | `0x04` | `true`         | none                                                 |
//! | `0x05` | `str`          | varint byte length, then the UTF-8 bytes             |
//! | `0x06` | list           | varint element count, then the elements              |
//! | `0x07` | tuple          | varint field count, then the fields                  |
//! | `0x08` | record         | varint field count, then the fields in declared order|
//!
//! A varint is unsigned LEB128: 7 bits per byte, least significant group
//! first, high bit set on every byte but the last, at most 10 bytes, and
//! always the shortest form (a final `0x00` byte after the first is
//! rejected), so decoding accepts only canonical encodings. Zigzag maps
//! `0, -1, 1, -2, …` to `0, 1, 2, 3, …`. NaN payloads are kept bit for bit.
//!
//! Decoding never panics: truncated input, unknown tags, invalid UTF-8,
//! counts larger than the remaining bytes could hold, nesting deeper than
//! [`MAX_DEPTH`] and trailing bytes are all errors.

use crate::error::{Result, RuntimeError};
use crate::value::Value;
use alloc::string::String;
use alloc::vec::Vec;

/// The deepest nesting of lists, tuples and records that decoding accepts;
/// it bounds recursion on hostile input.
pub const MAX_DEPTH: usize = 128;

const TAG_INT: u8 = 0x01;
const TAG_FLOAT: u8 = 0x02;
const TAG_FALSE: u8 = 0x03;
const TAG_TRUE: u8 = 0x04;
pub(crate) const TAG_STR: u8 = 0x05;
const TAG_LIST: u8 = 0x06;
const TAG_TUPLE: u8 = 0x07;
const TAG_RECORD: u8 = 0x08;

/// Appends `n` as an unsigned LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// Appends `n` zigzag-encoded as a varint.
pub fn put_signed_varint(out: &mut Vec<u8>, n: i64) {
    put_varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

/// Appends the canonical encoding of `value`.
pub fn encode_value_into(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Int(n) => {
            out.push(TAG_INT);
            put_signed_varint(out, *n);
        }
        Value::Float(x) => {
            out.push(TAG_FLOAT);
            out.extend_from_slice(&x.to_bits().to_le_bytes());
        }
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Str(s) => encode_str_into(out, s),
        Value::List(items) | Value::Tuple(items) | Value::Record(items) => {
            out.push(match value {
                Value::List(_) => TAG_LIST,
                Value::Tuple(_) => TAG_TUPLE,
                _ => TAG_RECORD,
            });
            put_varint(out, items.len() as u64);
            for item in items {
                encode_value_into(out, item);
            }
        }
    }
}

/// Appends the canonical encoding of the `str` value `s` (without a
/// [`Value`] to hold it: a word still inside its line).
pub fn encode_str_into(out: &mut Vec<u8>, s: &str) {
    out.push(TAG_STR);
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// The canonical encoding of `value`.
pub fn encode_value(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value_into(&mut out, value);
    out
}

/// Decodes exactly one value from `bytes`; trailing bytes are an error.
pub fn decode_value(bytes: &[u8]) -> Result<Value> {
    let mut reader = Reader::new(bytes);
    let value = reader.value()?;
    reader.finish()?;
    Ok(value)
}

/// A cursor over untrusted bytes; every read checks bounds.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, position: 0 }
    }

    /// The current byte offset.
    pub fn position(&self) -> usize {
        self.position
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// An error at the current position.
    pub fn error(&self, what: &str) -> RuntimeError {
        RuntimeError::malformed(what, self.position)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(self.error("trailing bytes"))
        }
    }

    /// One byte.
    pub fn byte(&mut self) -> Result<u8> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or_else(|| self.error("unexpected end of data"))?;
        self.position += 1;
        Ok(byte)
    }

    /// The next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(self.error("length exceeds the remaining data"));
        }
        let slice = &self.bytes[self.position..self.position + len];
        self.position += len;
        Ok(slice)
    }

    /// Eight bytes as a little-endian `u64`.
    pub fn u64_le(&mut self) -> Result<u64> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.bytes(8)?);
        Ok(u64::from_le_bytes(word))
    }

    /// Four bytes as a little-endian `u32`.
    pub fn u32_le(&mut self) -> Result<u32> {
        let mut word = [0u8; 4];
        word.copy_from_slice(self.bytes(4)?);
        Ok(u32::from_le_bytes(word))
    }

    /// A canonical unsigned LEB128 varint.
    pub fn varint(&mut self) -> Result<u64> {
        let start = self.position;
        let mut result: u64 = 0;
        for index in 0..10u32 {
            let byte = self.byte()?;
            let group = u64::from(byte & 0x7f);
            if index == 9 && group > 1 {
                return Err(RuntimeError::malformed("varint overflows 64 bits", start));
            }
            result |= group << (7 * index);
            if byte & 0x80 == 0 {
                if byte == 0 && index > 0 {
                    return Err(RuntimeError::malformed(
                        "varint is not in shortest form",
                        start,
                    ));
                }
                return Ok(result);
            }
        }
        Err(RuntimeError::malformed(
            "varint longer than 10 bytes",
            start,
        ))
    }

    /// A zigzag varint.
    pub fn signed_varint(&mut self) -> Result<i64> {
        let n = self.varint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// A count of items that each take at least `min_item_bytes` bytes; a
    /// count that the remaining bytes cannot hold is an error, so hostile
    /// input cannot make the decoder allocate absurd amounts.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize> {
        let start = self.position;
        let count = self.varint()?;
        let fits = usize::try_from(count)
            .ok()
            .filter(|n| n.saturating_mul(min_item_bytes.max(1)) <= self.remaining());
        fits.ok_or_else(|| RuntimeError::malformed("count exceeds the remaining data", start))
    }

    /// A varint-length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Result<String> {
        let len = self.count(1)?;
        let start = self.position;
        let bytes = self.bytes(len)?;
        let text = core::str::from_utf8(bytes)
            .map_err(|_| RuntimeError::malformed("string is not UTF-8", start))?;
        Ok(String::from(text))
    }

    /// One encoded value.
    pub fn value(&mut self) -> Result<Value> {
        self.value_at_depth(0)
    }

    /// The bytes of one encoded value, checked exactly as [`Reader::value`]
    /// checks them but without building it: decoding a canonical encoding
    /// and encoding the value again gives the same bytes, so these are the
    /// value's encoding (partials keep table keys encoded).
    pub fn value_bytes(&mut self) -> Result<&'a [u8]> {
        let start = self.position;
        self.skip_at_depth(0)?;
        Ok(&self.bytes[start..self.position])
    }

    fn skip_at_depth(&mut self, depth: usize) -> Result<()> {
        let tag_offset = self.position;
        match self.byte()? {
            TAG_INT => {
                self.varint()?;
            }
            TAG_FLOAT => {
                self.u64_le()?;
            }
            TAG_FALSE | TAG_TRUE => {}
            TAG_STR => {
                let len = self.count(1)?;
                let start = self.position;
                let bytes = self.bytes(len)?;
                if core::str::from_utf8(bytes).is_err() {
                    return Err(RuntimeError::malformed("string is not UTF-8", start));
                }
            }
            TAG_LIST | TAG_TUPLE | TAG_RECORD => {
                if depth >= MAX_DEPTH {
                    return Err(RuntimeError::malformed(
                        "values nested too deeply",
                        tag_offset,
                    ));
                }
                for _ in 0..self.count(1)? {
                    self.skip_at_depth(depth + 1)?;
                }
            }
            _ => return Err(RuntimeError::malformed("unknown value tag", tag_offset)),
        }
        Ok(())
    }

    fn value_at_depth(&mut self, depth: usize) -> Result<Value> {
        let tag_offset = self.position;
        let tag = self.byte()?;
        Ok(match tag {
            TAG_INT => Value::Int(self.signed_varint()?),
            TAG_FLOAT => Value::Float(f64::from_bits(self.u64_le()?)),
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            TAG_STR => Value::Str(self.string()?),
            TAG_LIST | TAG_TUPLE | TAG_RECORD => {
                if depth >= MAX_DEPTH {
                    return Err(RuntimeError::malformed(
                        "values nested too deeply",
                        tag_offset,
                    ));
                }
                let count = self.count(1)?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value_at_depth(depth + 1)?);
                }
                match tag {
                    TAG_LIST => Value::List(items),
                    TAG_TUPLE => Value::Tuple(items),
                    _ => Value::Record(items),
                }
            }
            _ => return Err(RuntimeError::malformed("unknown value tag", tag_offset)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(Value::Int),
            any::<u64>().prop_map(|bits| Value::Float(f64::from_bits(bits))),
            any::<bool>().prop_map(Value::Bool),
            ".{0,8}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
                proptest::collection::vec(inner, 0..4).prop_map(Value::Record),
            ]
        })
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encode_value(&Value::Int(0)), vec![1, 0]);
        assert_eq!(encode_value(&Value::Int(-1)), vec![1, 1]);
        assert_eq!(encode_value(&Value::Int(64)), vec![1, 0x80, 0x01]);
        assert_eq!(
            encode_value(&Value::Float(1.0)),
            vec![2, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]
        );
        assert_eq!(
            encode_value(&Value::Tuple(vec![Value::str("ab"), Value::Bool(true)])),
            vec![7, 2, 5, 2, b'a', b'b', 4]
        );
    }

    #[test]
    fn extreme_ints_round_trip() {
        for n in [i64::MIN, i64::MAX, 0, -1, 1] {
            assert_eq!(
                decode_value(&encode_value(&Value::Int(n))),
                Ok(Value::Int(n))
            );
        }
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode_value(&[]).is_err());
        assert!(decode_value(&[0x09]).is_err());
        assert!(decode_value(&[TAG_STR, 5, b'a']).is_err());
        assert!(decode_value(&[TAG_STR, 2, 0xff, 0xfe]).is_err());
        assert!(decode_value(&[TAG_INT, 0x80, 0x00]).is_err());
        assert!(
            decode_value(&[
                TAG_INT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ])
            .is_err()
        );
        assert!(decode_value(&[TAG_LIST, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        assert!(decode_value(&[TAG_TRUE, TAG_TRUE]).is_err());
        let deep = [TAG_LIST, 1].repeat(MAX_DEPTH + 1);
        assert!(decode_value(&deep).is_err());
    }

    proptest! {
        #[test]
        fn values_round_trip(value in arb_value()) {
            let bytes = encode_value(&value);
            let decoded = decode_value(&bytes).unwrap();
            prop_assert_eq!(encode_value(&decoded), bytes);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(value) = decode_value(&bytes) {
                prop_assert_eq!(encode_value(&value), bytes);
            }
        }

        #[test]
        fn value_bytes_accepts_what_value_accepts_and_is_its_encoding(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            value in arb_value(),
        ) {
            // Garbage: the same verdict and the same length either way.
            let mut building = Reader::new(&bytes);
            let mut skipping = Reader::new(&bytes);
            match (building.value(), skipping.value_bytes()) {
                (Ok(built), Ok(skipped)) => {
                    let encoded = encode_value(&built);
                    prop_assert_eq!(encoded.as_slice(), skipped);
                }
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "value {a:?} but value_bytes {b:?}"),
            }
            // A real encoding, followed by more bytes.
            let mut encoded = encode_value(&value);
            let length = encoded.len();
            encoded.extend_from_slice(&bytes);
            let mut reader = Reader::new(&encoded);
            prop_assert_eq!(reader.value_bytes().unwrap(), &encoded[..length]);
        }

        #[test]
        fn equal_order_means_equal_bytes(a in arb_value(), b in arb_value()) {
            prop_assert_eq!(a == b, encode_value(&a) == encode_value(&b));
        }
    }
}
