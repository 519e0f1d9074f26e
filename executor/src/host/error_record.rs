//! The error record a stage module writes before it traps (docs/abi.md, "The
//! error record"): the tuple `(kind: str, message: str, span_id: int,
//! position: int)`.
//!
//! The record is encoded with the runtime library's canonical value encoding
//! (`flow-runtime`, `stdlib/runtime/src/encode.rs`), so [`decode`] and
//! [`encode`] use that crate: the host reads exactly what the module wrote.

use flow_runtime::{Value, decode_value, encode_value};
use std::fmt;

/// A run-time error reported by a stage module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRecord {
    /// A stable name: `overflow`, `division-by-zero`, `bad-record`,
    /// `missing-field`, `parse`, `empty`, `index`, `extern`.
    pub kind: String,
    /// The message for the user.
    pub message: String,
    /// The index into the job plan's table of source spans.
    pub span_id: i64,
    /// The 1-based line, record or integer being processed, or `-1`.
    pub position: i64,
}

impl fmt::Display for ErrorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if self.position >= 0 {
            write!(f, " (at position {})", self.position)?;
        }
        Ok(())
    }
}

/// Decodes an error record. The bytes come from a module that may be
/// hostile: the runtime's decoder checks every length and tag.
pub fn decode(bytes: &[u8]) -> Result<ErrorRecord, String> {
    let value = decode_value(bytes).map_err(|error| error.to_string())?;
    match value {
        Value::Tuple(fields) => match fields.as_slice() {
            [
                Value::Str(kind),
                Value::Str(message),
                Value::Int(span_id),
                Value::Int(position),
            ] => Ok(ErrorRecord {
                kind: kind.clone(),
                message: message.clone(),
                span_id: *span_id,
                position: *position,
            }),
            _ => Err(format!(
                "an error record is a tuple (str, str, int, int), found {} fields of other types",
                fields.len()
            )),
        },
        other => Err(format!(
            "an error record is a tuple, found a {}",
            other.kind_name()
        )),
    }
}

/// Encodes an error record the way [`decode`] reads it (for tests and for
/// hosts that report errors of their own in the same shape).
pub fn encode(record: &ErrorRecord) -> Vec<u8> {
    encode_value(&Value::Tuple(vec![
        Value::Str(record.kind.clone()),
        Value::Str(record.message.clone()),
        Value::Int(record.span_id),
        Value::Int(record.position),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let record = ErrorRecord {
            kind: "overflow".to_owned(),
            message: "sum overflowed i64".to_owned(),
            span_id: 3,
            position: 17,
        };
        assert_eq!(decode(&encode(&record)), Ok(record));
    }

    #[test]
    fn rejects_truncated_and_oversized_lengths() {
        let record = ErrorRecord {
            kind: "parse".to_owned(),
            message: "x".to_owned(),
            span_id: 0,
            position: -1,
        };
        let bytes = encode(&record);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[0xff, 0xff, 0xff, 0xff]).is_err());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_err());
    }
}
