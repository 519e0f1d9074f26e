//! The error record a stage module writes before it traps (docs/abi.md, "The
//! error record"): the tuple `(kind: str, message: str, span_id: int,
//! position: int)`.
//!
//! The value encoding belongs to the runtime library (`flow-runtime`,
//! `stdlib/runtime/src/encode.rs`), which has not landed yet. Until it does,
//! [`decode`] reads the tuple with this minimal encoding, kept in this one
//! function so switching to the runtime's decoder is a one-place change:
//! a tuple is its fields one after the other, a `str` is its byte length as a
//! little-endian `u32` followed by its UTF-8 bytes, and an `int` is a
//! little-endian `i64`. Nothing may follow the last field.

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
/// hostile: every length is checked against what is left.
pub fn decode(bytes: &[u8]) -> Result<ErrorRecord, String> {
    let mut reader = Reader { rest: bytes };
    let kind = reader.string("kind")?;
    let message = reader.string("message")?;
    let span_id = reader.int("span_id")?;
    let position = reader.int("position")?;
    if !reader.rest.is_empty() {
        return Err(format!(
            "{} unexpected bytes after the last field",
            reader.rest.len()
        ));
    }
    Ok(ErrorRecord {
        kind,
        message,
        span_id,
        position,
    })
}

/// Encodes an error record the way [`decode`] reads it (for tests and for
/// hosts that report errors of their own in the same shape).
pub fn encode(record: &ErrorRecord) -> Vec<u8> {
    let mut bytes = Vec::new();
    for text in [&record.kind, &record.message] {
        // A message longer than 4 GiB cannot come from a module with 32-bit
        // memory; saturating keeps this total without a panic.
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
    }
    bytes.extend_from_slice(&record.span_id.to_le_bytes());
    bytes.extend_from_slice(&record.position.to_le_bytes());
    bytes
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize, field: &str) -> Result<&'a [u8], String> {
        match self.rest.split_at_checked(count) {
            Some((taken, rest)) => {
                self.rest = rest;
                Ok(taken)
            }
            None => Err(format!(
                "the field `{field}` needs {count} bytes, only {} are left",
                self.rest.len()
            )),
        }
    }

    fn int(&mut self, field: &str) -> Result<i64, String> {
        let bytes = self.take(8, field)?;
        let array: [u8; 8] = bytes
            .try_into()
            .map_err(|_| format!("the field `{field}` is not 8 bytes"))?;
        Ok(i64::from_le_bytes(array))
    }

    fn string(&mut self, field: &str) -> Result<String, String> {
        let len_bytes = self.take(4, field)?;
        let array: [u8; 4] = len_bytes
            .try_into()
            .map_err(|_| format!("the length of `{field}` is not 4 bytes"))?;
        let len = usize::try_from(u32::from_le_bytes(array))
            .map_err(|_| format!("the length of `{field}` does not fit in memory"))?;
        let text = self.take(len, field)?;
        String::from_utf8(text.to_vec()).map_err(|_| format!("the field `{field}` is not UTF-8"))
    }
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
